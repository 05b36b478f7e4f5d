package policy

import (
	"fmt"
	"io"
	"strings"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

// EnvVar is one environment variable of Tecnativa's docker-socket-proxy
// (and godoxy's socket-proxy, linuxserver's socket-proxy) and the
// operations it grants here.
type EnvVar struct {
	// Name is the variable.
	Name string
	// Default is its value when unset (Tecnativa's Dockerfile: EVENTS,
	// PING and VERSION on, everything else off).
	Default bool
	// Ops are the operations it grants. Those whose method is POST also
	// need POST=1, DELETE ones DELETE=1, PUT ones PUT=1.
	Ops []dockerapi.Op
	// WithOps are granted too when the variable With is also on (exec
	// creation lives under /containers for Tecnativa, so it needs
	// CONTAINERS as well as EXEC).
	WithOps []dockerapi.Op
	With    string
	// Tecnativa is the path its haproxy.cfg rule matches ("" for
	// variables Tecnativa does not have or that gate a method).
	Tecnativa string
	// Note says where this mapping is stricter than Tecnativa's.
	Note string
}

// The method gates: each lets the granted operations of its method
// through.
var methodGates = map[string]string{"POST": "POST", "DELETE": "DELETE", "PUT": "PUT"}

// envVars is the decision table of the environment variables, in the
// order of Tecnativa's haproxy.cfg (then the method gates, then the
// variables of linuxserver's and newer Tecnativa builds).
var envVars = []EnvVar{
	{Name: "ALLOW_RESTARTS", Ops: ops(dockerapi.ContainerStop, dockerapi.ContainerRestart, dockerapi.ContainerKill), Tecnativa: "/containers/{id}/(stop|restart|kill)"},
	{Name: "ALLOW_START", Ops: ops(dockerapi.ContainerStart), Tecnativa: "/containers/{id}/start"},
	{Name: "ALLOW_STOP", Ops: ops(dockerapi.ContainerStop), Tecnativa: "/containers/{id}/stop"},
	{Name: "AUTH", Ops: ops(dockerapi.SystemAuth), Tecnativa: "/auth"},
	{Name: "BUILD", Ops: ops(dockerapi.ImageBuild, dockerapi.BuildPrune, dockerapi.BuildCancel), Tecnativa: "/build"},
	{Name: "COMMIT", Ops: ops(dockerapi.ImageCommit), Tecnativa: "/commit"},
	{Name: "CONFIGS", Ops: ops(dockerapi.ConfigList, dockerapi.ConfigInspect, dockerapi.ConfigCreate, dockerapi.ConfigUpdate, dockerapi.ConfigDelete), Tecnativa: "/configs"},
	{Name: "CONTAINERS", Ops: ops(
		dockerapi.ContainerList, dockerapi.ContainerInspect, dockerapi.ContainerTop, dockerapi.ContainerLogs,
		dockerapi.ContainerChanges, dockerapi.ContainerStats, dockerapi.ContainerWait, dockerapi.ContainerResize,
		dockerapi.ContainerCreate, dockerapi.ContainerRename, dockerapi.ContainerUpdate, dockerapi.ContainerPrune,
		dockerapi.ContainerDelete),
		Tecnativa: "/containers",
		Note: "start, stop, restart, kill, pause, unpause need their ALLOW_ variable (as godoxy); archive, export, " +
			"attach, exec and checkpoints are never part of CONTAINERS (ALLOW_ARCHIVE, ALLOW_EXPORT, ALLOW_ATTACH, EXEC); " +
			"create and update bodies are checked (deny-body all)"},
	{Name: "DISTRIBUTION", Ops: ops(dockerapi.DistributionInspect), Tecnativa: "/distribution"},
	{Name: "EVENTS", Default: true, Ops: ops(dockerapi.SystemEvents), Tecnativa: "/events"},
	{Name: "EXEC", Ops: ops(dockerapi.ExecInspect, dockerapi.ExecStart, dockerapi.ExecResize), WithOps: ops(dockerapi.ContainerExec), With: "CONTAINERS", Tecnativa: "/exec",
		Note: "exec creation (POST /containers/{id}/exec) needs EXEC and CONTAINERS (Tecnativa: CONTAINERS alone); exec bodies are checked (no exec as root)"},
	{Name: "GRPC", Ops: ops(dockerapi.GRPC), Tecnativa: "/grpc"},
	{Name: "IMAGES", Ops: ops(
		dockerapi.ImageList, dockerapi.ImageSearch, dockerapi.ImageHistory, dockerapi.ImageInspect,
		dockerapi.ImageAttestations, dockerapi.ImageLoad, dockerapi.ImageCreate, dockerapi.ImageTag,
		dockerapi.ImagePrune, dockerapi.ImageDelete),
		Tecnativa: "/images",
		Note:      "image save (GET /images/{name}/get, /images/get) needs ALLOW_IMAGE_SAVE, push ALLOW_IMAGE_PUSH"},
	{Name: "INFO", Ops: ops(dockerapi.SystemInfo), Tecnativa: "/info"},
	{Name: "NETWORKS", Ops: ops(dockerapi.NetworkList, dockerapi.NetworkInspect, dockerapi.NetworkCreate, dockerapi.NetworkConnect, dockerapi.NetworkDisconnect, dockerapi.NetworkPrune, dockerapi.NetworkDelete), Tecnativa: "/networks"},
	{Name: "NODES", Ops: ops(dockerapi.NodeList, dockerapi.NodeInspect, dockerapi.NodeUpdate, dockerapi.NodeDelete), Tecnativa: "/nodes"},
	{Name: "PING", Default: true, Ops: ops(dockerapi.SystemPing, dockerapi.SystemPingHead), Tecnativa: "/_ping"},
	{Name: "PLUGINS", Ops: ops(
		dockerapi.PluginList, dockerapi.PluginInspect, dockerapi.GetPluginPrivileges, dockerapi.PluginDelete,
		dockerapi.PluginEnable, dockerapi.PluginDisable, dockerapi.PluginPull, dockerapi.PluginPush,
		dockerapi.PluginUpgrade, dockerapi.PluginSet, dockerapi.PluginCreate), Tecnativa: "/plugins"},
	{Name: "SECRETS", Ops: ops(dockerapi.SecretList, dockerapi.SecretInspect, dockerapi.SecretCreate, dockerapi.SecretUpdate, dockerapi.SecretDelete), Tecnativa: "/secrets"},
	{Name: "SERVICES", Ops: ops(dockerapi.ServiceList, dockerapi.ServiceInspect, dockerapi.ServiceLogs, dockerapi.ServiceCreate, dockerapi.ServiceUpdate, dockerapi.ServiceDelete), Tecnativa: "/services",
		Note: "service create and update bodies are checked"},
	{Name: "SESSION", Ops: ops(dockerapi.Session), Tecnativa: "/session"},
	{Name: "SWARM", Ops: ops(dockerapi.SwarmInspect, dockerapi.SwarmInit, dockerapi.SwarmLeave, dockerapi.SwarmUpdate, dockerapi.SwarmUnlock), Tecnativa: "/swarm",
		Note: "joining another swarm (POST /swarm/join: its managers then run tasks here) and the unlock key (GET /swarm/unlockkey) only through a policy file"},
	{Name: "SYSTEM", Ops: ops(dockerapi.SystemDataUsage), Tecnativa: "/system"},
	{Name: "TASKS", Ops: ops(dockerapi.TaskList, dockerapi.TaskInspect, dockerapi.TaskLogs), Tecnativa: "/tasks"},
	{Name: "VERSION", Default: true, Ops: ops(dockerapi.SystemVersion), Tecnativa: "/version"},
	{Name: "VOLUMES", Ops: ops(dockerapi.VolumeList, dockerapi.VolumeInspect, dockerapi.VolumeCreate, dockerapi.VolumeUpdate, dockerapi.VolumeDelete, dockerapi.VolumePrune), Tecnativa: "/volumes",
		Note: "volume create bodies are checked (bind driver options)"},

	// method gates
	{Name: "POST", Note: "lets POST operations of the granted variables through"},
	{Name: "DELETE", Note: "Tecnativa's POST=1 opens every method but GET; here DELETE operations need DELETE=1 (as newer Tecnativa builds)"},
	{Name: "PUT", Note: "PUT operations need PUT=1 (as newer Tecnativa builds)"},

	// linuxserver's socket-proxy and newer Tecnativa builds
	{Name: "ALLOW_KILL", Ops: ops(dockerapi.ContainerKill)},
	{Name: "ALLOW_PAUSE", Ops: ops(dockerapi.ContainerPause)},
	{Name: "ALLOW_UNPAUSE", Ops: ops(dockerapi.ContainerUnpause)},
	{Name: "ALLOW_LOGS", Ops: ops(dockerapi.ContainerLogs)},
	{Name: "ALLOW_EXEC", Ops: ops(dockerapi.ExecInspect, dockerapi.ExecStart, dockerapi.ExecResize), WithOps: ops(dockerapi.ContainerExec), With: "CONTAINERS", Note: "same as EXEC"},
	{Name: "ALLOW_ATTACH", Ops: ops(dockerapi.ContainerAttach, dockerapi.ContainerAttachWebsocket)},
	{Name: "ALLOW_ARCHIVE", Ops: ops(dockerapi.ContainerArchiveInfo, dockerapi.ContainerArchive, dockerapi.PutContainerArchive, dockerapi.ContainerCopy)},
	{Name: "ALLOW_EXPORT", Ops: ops(dockerapi.ContainerExport)},
	{Name: "ALLOW_IMAGE_SAVE", Ops: ops(dockerapi.ImageGet, dockerapi.ImageGetAll), Note: "sockproxy's own: image save is never part of IMAGES"},
	{Name: "ALLOW_IMAGE_PUSH", Ops: ops(dockerapi.ImagePush), Note: "sockproxy's own: image push is never part of IMAGES"},
}

func ops(o ...dockerapi.Op) []dockerapi.Op { return o }

// EnvVars returns the decision table of the environment variables.
func EnvVars() []EnvVar {
	return append([]EnvVar(nil), envVars...)
}

// opMethod is the HTTP method of each operation's routes.
var opMethod = func() [dockerapi.NumOps]string {
	var m [dockerapi.NumOps]string
	for _, r := range dockerapi.Routes() {
		m[r.Op] = r.Method
	}
	return m
}()

// FromEnv builds the policy Tecnativa's environment variables describe.
// lookup is os.LookupEnv or a fake. set is false, and the policy nil, when
// none of the variables is set: then the environment configures nothing.
// Values are booleans (1/0, true/false, yes/no, on/off, empty for off);
// anything else is an error, so a typo does not silently open or close the
// API. The policy checks every body it can (deny-body all): the variables
// have no way to ask for privileged containers or host mounts; write a
// policy file for that.
func FromEnv(lookup func(string) (string, bool)) (p *Policy, set bool, err error) {
	on := map[string]bool{}
	for _, v := range envVars {
		val, ok := lookup(v.Name)
		if !ok {
			on[v.Name] = v.Default
			continue
		}
		set = true
		b, err := parseBool(val)
		if err != nil {
			return nil, true, fmt.Errorf("policy: environment variable %s=%q: %w", v.Name, val, err)
		}
		on[v.Name] = b
	}
	if !set {
		return nil, false, nil
	}
	b := newBuilder("env")
	for _, v := range envVars {
		if !on[v.Name] {
			continue
		}
		candidates := v.Ops
		if v.With != "" && on[v.With] {
			candidates = append(append([]dockerapi.Op(nil), v.Ops...), v.WithOps...)
		}
		var granted []string
		for _, op := range candidates {
			if gate, ok := methodGates[opMethod[op]]; ok && !on[gate] {
				continue
			}
			granted = append(granted, op.String())
		}
		if len(granted) == 0 {
			continue
		}
		r := b.addRule("env:"+v.Name, 0, "allow "+strings.Join(granted, " "))
		for _, name := range granted {
			op, _ := dockerapi.Lookup(name)
			if b.p.grant[op] == 0 {
				b.p.grant[op] = r
			}
		}
	}
	r := b.addRule("env", 0, "deny-body all")
	for c := range b.p.checks {
		b.p.checks[c] = r
	}
	return b.p, true, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (1/0, true/false, yes/no, on/off)")
}

// WriteEnvTable prints the environment table as Markdown: each variable,
// its default, the operations it grants (with the method gate they need)
// and where it is stricter than Tecnativa.
func WriteEnvTable(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| Variable | Default | Grants | Stricter than Tecnativa |\n|---|---|---|---|\n")
	for _, v := range envVars {
		def := "0"
		if v.Default {
			def = "1"
		}
		var grants []string
		for _, op := range v.Ops {
			grants = append(grants, gated(op))
		}
		for _, op := range v.WithOps {
			grants = append(grants, gated(op)+" (with "+v.With+"=1)")
		}
		g := strings.Join(grants, ", ")
		if g == "" {
			g = "—"
		}
		note := v.Note
		if v.Tecnativa == "" && len(v.Ops) > 0 && note == "" {
			note = "not in Tecnativa's haproxy.cfg (linuxserver, newer Tecnativa builds)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, def, g, note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func gated(op dockerapi.Op) string {
	if gate, ok := methodGates[opMethod[op]]; ok {
		return op.String() + " (" + gate + "=1)"
	}
	return op.String()
}
