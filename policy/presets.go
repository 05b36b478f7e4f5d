package policy

import (
	"fmt"
	"slices"
	"strings"
)

// presets are policies in the file format, so that -explain can show them
// and a policy file can include them ("preset NAME"). Each says what it
// was checked against.
var presets = map[string]string{
	// Traefik's Docker provider (pkg/provider/docker/pdocker.go, v3):
	// ServerVersion, ContainerList (All), ContainerInspect of each
	// container (and of the one a network_mode "container:" names), and
	// Events filtered on type=container. The Go client pings to negotiate
	// the API version.
	"traefik": `# Traefik's Docker provider (not the Swarm one: preset traefik-swarm)
allow SystemPing SystemPingHead SystemVersion
allow ContainerList ContainerInspect
allow SystemEvents
`,
	// Traefik's Swarm provider (pkg/provider/docker/pswarm.go, v3):
	// ServerVersion, ServiceList, NetworkList (scope=swarm), TaskList per
	// service, NodeInspect per task with a node; it polls instead of
	// following events.
	"traefik-swarm": `# Traefik's Swarm provider
allow SystemPing SystemPingHead SystemVersion
allow ServiceList NetworkList TaskList NodeInspect
`,
	// A dashboard that only looks (Portainer, Homepage, Dozzle, Glance):
	// every list, inspect, log, stats and top; nothing that reads files
	// (archive, export, image save), attaches, execs or writes.
	"portainer-readonly": `# read-only dashboards: look, never touch
allow SystemPing SystemPingHead SystemVersion SystemInfo SystemEvents SystemDataUsage
allow ContainerList ContainerInspect ContainerTop ContainerLogs ContainerStats ContainerChanges
allow ImageList ImageInspect ImageHistory
allow VolumeList VolumeInspect
allow NetworkList NetworkInspect
allow ExecInspect
allow SwarmInspect NodeList NodeInspect ServiceList ServiceInspect ServiceLogs TaskList TaskInspect TaskLogs
allow SecretList SecretInspect ConfigList ConfigInspect
allow PluginList PluginInspect
`,
	// Watchtower (pkg/container/client.go): ContainerList, ContainerInspect
	// (and of a network_mode container), ImageInspect, ImagePull
	// (POST /images/create), ContainerKill, ContainerRemove, ContainerCreate
	// with the old container's config, NetworkDisconnect/NetworkConnect,
	// ContainerStart, ContainerRename (self-update), ImageRemove (cleanup).
	// Lifecycle hooks (ContainerExecCreate/ExecStart/ExecInspect) are left
	// out: grant them yourself if you use them.
	"watchtower": `# Watchtower: pull, recreate, restart
allow SystemPing SystemPingHead SystemVersion
allow ContainerList ContainerInspect ImageInspect
allow ImageCreate ImageDelete
allow ContainerKill ContainerDelete ContainerCreate ContainerStart ContainerRename
allow NetworkConnect NetworkDisconnect
# Watchtower recreates containers with their own configuration, host binds
# included, so host-mounts stays allowed; everything else that asks for the
# host is refused.
deny-body privileged host-namespaces capabilities devices security-options
# lifecycle hooks, if you use them:
# allow ContainerExec ExecStart ExecInspect
`,
	// A CI job that builds and pushes images: docker login (POST /auth,
	// moby client login.go), docker build (classic POST /build, client
	// image_build.go; BuildKit through the CLI adds the POST /session
	// tunnel, buildx's docker driver POST /grpc; build_prune.go,
	// build_cancel.go), pull, tag, push, inspect, clean up. No containers,
	// no exec.
	"ci-build": `# CI: log in, build, tag, push; no containers, no exec
allow SystemPing SystemPingHead SystemVersion SystemInfo SystemAuth
allow ImageBuild BuildPrune BuildCancel Session GRPC
allow ImageCreate ImageInspect ImageList ImageHistory ImageTag ImagePush ImageDelete ImagePrune
`,
	// Everything, unknown routes included: the lab, and those who mean it.
	"allow-all": `# everything passes; only for a socket nobody else can reach
allow-all
`,
}

// PresetNames returns the names of the built-in presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PresetText returns a preset's source in the policy file format.
func PresetText(name string) (string, bool) {
	t, ok := presets[name]
	return t, ok
}

// Preset returns the built-in preset of that name.
func Preset(name string) (*Policy, error) {
	text, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("policy: no preset %q (presets: %s)", name, strings.Join(PresetNames(), ", "))
	}
	return Parse("preset:"+name, strings.NewReader(text))
}
