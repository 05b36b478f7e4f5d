package dockerapi

// Route is one route as moby registers it: dockerd serves it both at
// Template and at "/v{version:[0-9.]+}" + Template.
type Route struct {
	// Method is the HTTP method, upper case; dockerd matches it exactly.
	Method string
	// Template is moby's path template, with gorilla/mux variables:
	// {name} matches one non-empty segment, {name:.*} anything (slashes
	// included, possibly empty), {id:.+} anything non-empty.
	Template string
	// Op is the operation the route runs.
	Op Op
	// MinVersion is the lowest API version the handler accepts ("" for
	// any); dockerd still routes older versions here and answers an error.
	MinVersion string
	// Experimental routes answer "not implemented" unless the daemon runs
	// with experimental features.
	Experimental bool
}

// MinAPIVersion and MaxAPIVersion bound the API versions this table was
// checked for: those of the moby client in go.mod
// (github.com/moby/moby/client v0.6.2). Routes were read from moby's
// daemon/server/router (and api/server/router from v19.03, API 1.40, on).
const (
	MinAPIVersion = "1.40"
	MaxAPIVersion = "1.56"
)

// routes is moby's route table in registration order (buildRouters in
// daemon/command/daemon.go: checkpoint, container, image, system, volume,
// build, session, swarm, plugin, distribution, network, debug, grpc). Order
// matters where templates overlap: gorilla/mux runs the first route that
// matches, and the checkpoint DELETE comes before the container DELETE for
// that reason.
var routes = []Route{
	// checkpoint (experimental)
	{"GET", "/containers/{name:.*}/checkpoints", ContainerCheckpointList, "", true},
	{"POST", "/containers/{name:.*}/checkpoints", ContainerCheckpointCreate, "", true},
	{"DELETE", "/containers/{name}/checkpoints/{checkpoint}", ContainerCheckpointDelete, "", true},

	// container
	{"HEAD", "/containers/{name:.*}/archive", ContainerArchiveInfo, "", false},
	{"GET", "/containers/json", ContainerList, "", false},
	{"GET", "/containers/{name:.*}/export", ContainerExport, "", false},
	{"GET", "/containers/{name:.*}/changes", ContainerChanges, "", false},
	{"GET", "/containers/{name:.*}/json", ContainerInspect, "", false},
	{"GET", "/containers/{name:.*}/top", ContainerTop, "", false},
	{"GET", "/containers/{name:.*}/logs", ContainerLogs, "", false},
	{"GET", "/containers/{name:.*}/stats", ContainerStats, "", false},
	{"GET", "/containers/{name:.*}/attach/ws", ContainerAttachWebsocket, "", false},
	{"GET", "/exec/{id:.*}/json", ExecInspect, "", false},
	{"GET", "/containers/{name:.*}/archive", ContainerArchive, "", false},
	{"POST", "/containers/create", ContainerCreate, "", false},
	{"POST", "/containers/{name:.*}/kill", ContainerKill, "", false},
	{"POST", "/containers/{name:.*}/pause", ContainerPause, "", false},
	{"POST", "/containers/{name:.*}/unpause", ContainerUnpause, "", false},
	{"POST", "/containers/{name:.*}/restart", ContainerRestart, "", false},
	{"POST", "/containers/{name:.*}/start", ContainerStart, "", false},
	{"POST", "/containers/{name:.*}/stop", ContainerStop, "", false},
	{"POST", "/containers/{name:.*}/wait", ContainerWait, "", false},
	{"POST", "/containers/{name:.*}/resize", ContainerResize, "", false},
	{"POST", "/containers/{name:.*}/attach", ContainerAttach, "", false},
	{"POST", "/containers/{name:.*}/exec", ContainerExec, "", false},
	{"POST", "/exec/{name:.*}/start", ExecStart, "", false},
	{"POST", "/exec/{name:.*}/resize", ExecResize, "", false},
	{"POST", "/containers/{name:.*}/rename", ContainerRename, "", false},
	{"POST", "/containers/{name:.*}/update", ContainerUpdate, "", false},
	{"POST", "/containers/prune", ContainerPrune, "1.25", false},
	{"POST", "/commit", ImageCommit, "", false},
	{"PUT", "/containers/{name:.*}/archive", PutContainerArchive, "", false},
	{"DELETE", "/containers/{name:.*}", ContainerDelete, "", false},
	// Removed after API 1.40's daemons (v19.03 still routed it; its
	// handler refused API >= 1.24). Kept so an older daemon's route is
	// named, not unknown.
	{"POST", "/containers/{name:.*}/copy", ContainerCopy, "", false},

	// image
	{"GET", "/images/json", ImageList, "", false},
	{"GET", "/images/search", ImageSearch, "", false},
	{"GET", "/images/get", ImageGetAll, "", false},
	{"GET", "/images/{name:.*}/get", ImageGet, "", false},
	{"GET", "/images/{name:.*}/history", ImageHistory, "", false},
	{"GET", "/images/{name:.*}/json", ImageInspect, "", false},
	{"GET", "/images/{name:.*}/attestations", ImageAttestations, "1.55", false},
	{"POST", "/images/load", ImageLoad, "", false},
	{"POST", "/images/create", ImageCreate, "", false},
	{"POST", "/images/{name:.*}/push", ImagePush, "", false},
	{"POST", "/images/{name:.*}/tag", ImageTag, "", false},
	{"POST", "/images/prune", ImagePrune, "1.25", false},
	{"DELETE", "/images/{name:.*}", ImageDelete, "", false},

	// system
	{"OPTIONS", "/{anyroute:.*}", Options, "", false},
	{"GET", "/_ping", SystemPing, "", false},
	{"HEAD", "/_ping", SystemPingHead, "", false},
	{"GET", "/events", SystemEvents, "", false},
	{"GET", "/info", SystemInfo, "", false},
	{"GET", "/version", SystemVersion, "", false},
	{"GET", "/system/df", SystemDataUsage, "", false},
	{"POST", "/auth", SystemAuth, "", false},

	// volume
	{"GET", "/volumes", VolumeList, "", false},
	{"GET", "/volumes/{name:.*}", VolumeInspect, "", false},
	{"POST", "/volumes/create", VolumeCreate, "", false},
	{"POST", "/volumes/prune", VolumePrune, "1.25", false},
	{"PUT", "/volumes/{name:.*}", VolumeUpdate, "1.42", false},
	{"DELETE", "/volumes/{name:.*}", VolumeDelete, "", false},

	// build
	{"POST", "/build", ImageBuild, "", false},
	{"POST", "/build/prune", BuildPrune, "1.31", false},
	{"POST", "/build/cancel", BuildCancel, "", false},

	// session
	{"POST", "/session", Session, "", false},

	// swarm
	{"POST", "/swarm/init", SwarmInit, "", false},
	{"POST", "/swarm/join", SwarmJoin, "", false},
	{"POST", "/swarm/leave", SwarmLeave, "", false},
	{"GET", "/swarm", SwarmInspect, "", false},
	{"GET", "/swarm/unlockkey", SwarmUnlockkey, "", false},
	{"POST", "/swarm/update", SwarmUpdate, "", false},
	{"POST", "/swarm/unlock", SwarmUnlock, "", false},
	{"GET", "/services", ServiceList, "", false},
	{"GET", "/services/{id}", ServiceInspect, "", false},
	{"POST", "/services/create", ServiceCreate, "", false},
	{"POST", "/services/{id}/update", ServiceUpdate, "", false},
	{"DELETE", "/services/{id}", ServiceDelete, "", false},
	{"GET", "/services/{id}/logs", ServiceLogs, "", false},
	{"GET", "/nodes", NodeList, "", false},
	{"GET", "/nodes/{id}", NodeInspect, "", false},
	{"DELETE", "/nodes/{id}", NodeDelete, "", false},
	{"POST", "/nodes/{id}/update", NodeUpdate, "", false},
	{"GET", "/tasks", TaskList, "", false},
	{"GET", "/tasks/{id}", TaskInspect, "", false},
	{"GET", "/tasks/{id}/logs", TaskLogs, "", false},
	{"GET", "/secrets", SecretList, "1.25", false},
	{"POST", "/secrets/create", SecretCreate, "1.25", false},
	{"DELETE", "/secrets/{id}", SecretDelete, "1.25", false},
	{"GET", "/secrets/{id}", SecretInspect, "1.25", false},
	{"POST", "/secrets/{id}/update", SecretUpdate, "1.25", false},
	{"GET", "/configs", ConfigList, "1.30", false},
	{"POST", "/configs/create", ConfigCreate, "1.30", false},
	{"DELETE", "/configs/{id}", ConfigDelete, "1.30", false},
	{"GET", "/configs/{id}", ConfigInspect, "1.30", false},
	{"POST", "/configs/{id}/update", ConfigUpdate, "1.30", false},

	// plugin
	{"GET", "/plugins", PluginList, "", false},
	{"GET", "/plugins/{name:.*}/json", PluginInspect, "", false},
	{"GET", "/plugins/privileges", GetPluginPrivileges, "", false},
	{"DELETE", "/plugins/{name:.*}", PluginDelete, "", false},
	{"POST", "/plugins/{name:.*}/enable", PluginEnable, "", false},
	{"POST", "/plugins/{name:.*}/disable", PluginDisable, "", false},
	{"POST", "/plugins/pull", PluginPull, "", false},
	{"POST", "/plugins/{name:.*}/push", PluginPush, "", false},
	{"POST", "/plugins/{name:.*}/upgrade", PluginUpgrade, "1.26", false},
	{"POST", "/plugins/{name:.*}/set", PluginSet, "", false},
	{"POST", "/plugins/create", PluginCreate, "", false},

	// distribution
	{"GET", "/distribution/{name:.*}/json", DistributionInspect, "1.30", false},

	// network
	{"GET", "/networks", NetworkList, "", false},
	{"GET", "/networks/", NetworkList, "", false},
	{"GET", "/networks/{id:.+}", NetworkInspect, "", false},
	{"POST", "/networks/create", NetworkCreate, "", false},
	{"POST", "/networks/{id:.*}/connect", NetworkConnect, "", false},
	{"POST", "/networks/{id:.*}/disconnect", NetworkDisconnect, "", false},
	{"POST", "/networks/prune", NetworkPrune, "1.25", false},
	{"DELETE", "/networks/{id:.*}", NetworkDelete, "", false},

	// debug
	{"GET", "/debug/vars", DebugVars, "", false},
	{"GET", "/debug/pprof/", DebugPprof, "", false},
	{"GET", "/debug/pprof/cmdline", DebugPprof, "", false},
	{"GET", "/debug/pprof/profile", DebugPprof, "", false},
	{"GET", "/debug/pprof/symbol", DebugPprof, "", false},
	{"GET", "/debug/pprof/trace", DebugPprof, "", false},
	{"GET", "/debug/pprof/{name}", DebugPprof, "", false},

	// grpc (registered when the daemon has a BuildKit backend)
	{"POST", "/grpc", GRPC, "", false},
}

// Routes returns a copy of the route table in moby's registration order.
func Routes() []Route {
	return append([]Route(nil), routes...)
}
