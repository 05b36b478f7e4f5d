package dockerapi

// Op is one Docker Engine API operation: what a request does once dockerd
// has routed it. Its name (String) is the operationId of moby's
// api/swagger.yaml where the operation has one, and a name in the same
// style where it has none (see [OpInfo.Swagger]). The zero Op is Unknown:
// a request dockerd would not route to any handler.
type Op uint8

// Risk says what granting an operation hands to a client. The levels are
// ordered: each is worse than the one before.
type Risk uint8

const (
	// Read operations return metadata or state: lists, inspects, version,
	// events, logs, stats.
	Read Risk = iota
	// Write operations change the state of objects the daemon manages
	// (start, stop, remove, pull, create a network) without handing out
	// files, processes or the host.
	Write
	// Exfiltrate operations hand out file contents or whole filesystems
	// (archive, export, image save, push to any registry, debug profiles,
	// the swarm unlock key).
	Exfiltrate
	// Escalate operations run code or open channels into containers or the
	// daemon (exec, attach, build, commit, plugins, session and gRPC
	// tunnels, writing files into a container): with them a client can
	// usually reach root on the host.
	Escalate
)

// String returns the risk's name as -explain prints it.
func (r Risk) String() string {
	switch r {
	case Read:
		return "read"
	case Write:
		return "write"
	case Exfiltrate:
		return "exfiltrate"
	case Escalate:
		return "escalate"
	}
	return "unknown"
}

// OpInfo describes an operation.
type OpInfo struct {
	// Name is the operation's name, the swagger operationId when Swagger.
	Name string
	// Group is the API area, the first path segment dockerd routes on
	// ("containers", "images", "system", …); -explain groups by it.
	Group string
	// Risk is what granting the operation hands to a client.
	Risk Risk
	// Body marks operations whose request body can ask for the host
	// (privileged, host mounts, host namespaces, exec as root): policy body
	// checks apply to them.
	Body bool
	// Swagger is false for operations dockerd routes but swagger.yaml does
	// not name (checkpoints, build cancel, gRPC, debug, OPTIONS, the old
	// copy endpoint).
	Swagger bool
}

// The operations, in the order of moby's routers.
const (
	Unknown Op = iota

	ContainerCheckpointList
	ContainerCheckpointCreate
	ContainerCheckpointDelete

	ContainerArchiveInfo
	ContainerList
	ContainerExport
	ContainerChanges
	ContainerInspect
	ContainerTop
	ContainerLogs
	ContainerStats
	ContainerAttachWebsocket
	ExecInspect
	ContainerArchive
	ContainerCreate
	ContainerKill
	ContainerPause
	ContainerUnpause
	ContainerRestart
	ContainerStart
	ContainerStop
	ContainerWait
	ContainerResize
	ContainerAttach
	ContainerExec
	ExecStart
	ExecResize
	ContainerRename
	ContainerUpdate
	ContainerPrune
	ImageCommit
	PutContainerArchive
	ContainerDelete
	ContainerCopy

	ImageList
	ImageSearch
	ImageGetAll
	ImageGet
	ImageHistory
	ImageInspect
	ImageAttestations
	ImageLoad
	ImageCreate
	ImagePush
	ImageTag
	ImagePrune
	ImageDelete

	Options
	SystemPing
	SystemPingHead
	SystemEvents
	SystemInfo
	SystemVersion
	SystemDataUsage
	SystemAuth

	VolumeList
	VolumeInspect
	VolumeCreate
	VolumePrune
	VolumeUpdate
	VolumeDelete

	ImageBuild
	BuildPrune
	BuildCancel

	Session

	SwarmInit
	SwarmJoin
	SwarmLeave
	SwarmInspect
	SwarmUnlockkey
	SwarmUpdate
	SwarmUnlock
	ServiceList
	ServiceInspect
	ServiceCreate
	ServiceUpdate
	ServiceDelete
	ServiceLogs
	NodeList
	NodeInspect
	NodeDelete
	NodeUpdate
	TaskList
	TaskInspect
	TaskLogs
	SecretList
	SecretCreate
	SecretDelete
	SecretInspect
	SecretUpdate
	ConfigList
	ConfigCreate
	ConfigDelete
	ConfigInspect
	ConfigUpdate

	PluginList
	PluginInspect
	GetPluginPrivileges
	PluginDelete
	PluginEnable
	PluginDisable
	PluginPull
	PluginPush
	PluginUpgrade
	PluginSet
	PluginCreate

	DistributionInspect

	NetworkList
	NetworkInspect
	NetworkCreate
	NetworkConnect
	NetworkDisconnect
	NetworkPrune
	NetworkDelete

	DebugVars
	DebugPprof

	GRPC

	numOps
)

// NumOps is the number of operations including Unknown: every Op is below it.
const NumOps = int(numOps)

var ops = [numOps]OpInfo{
	Unknown: {Name: "Unknown", Group: "unknown", Risk: Escalate},

	ContainerCheckpointList:   {Name: "ContainerCheckpointList", Group: "containers", Risk: Read},
	ContainerCheckpointCreate: {Name: "ContainerCheckpointCreate", Group: "containers", Risk: Exfiltrate},
	ContainerCheckpointDelete: {Name: "ContainerCheckpointDelete", Group: "containers", Risk: Write},

	ContainerArchiveInfo:     {Name: "ContainerArchiveInfo", Group: "containers", Risk: Exfiltrate, Swagger: true},
	ContainerList:            {Name: "ContainerList", Group: "containers", Risk: Read, Swagger: true},
	ContainerExport:          {Name: "ContainerExport", Group: "containers", Risk: Exfiltrate, Swagger: true},
	ContainerChanges:         {Name: "ContainerChanges", Group: "containers", Risk: Read, Swagger: true},
	ContainerInspect:         {Name: "ContainerInspect", Group: "containers", Risk: Read, Swagger: true},
	ContainerTop:             {Name: "ContainerTop", Group: "containers", Risk: Read, Swagger: true},
	ContainerLogs:            {Name: "ContainerLogs", Group: "containers", Risk: Read, Swagger: true},
	ContainerStats:           {Name: "ContainerStats", Group: "containers", Risk: Read, Swagger: true},
	ContainerAttachWebsocket: {Name: "ContainerAttachWebsocket", Group: "containers", Risk: Escalate, Swagger: true},
	ExecInspect:              {Name: "ExecInspect", Group: "exec", Risk: Read, Swagger: true},
	ContainerArchive:         {Name: "ContainerArchive", Group: "containers", Risk: Exfiltrate, Swagger: true},
	ContainerCreate:          {Name: "ContainerCreate", Group: "containers", Risk: Write, Body: true, Swagger: true},
	ContainerKill:            {Name: "ContainerKill", Group: "containers", Risk: Write, Swagger: true},
	ContainerPause:           {Name: "ContainerPause", Group: "containers", Risk: Write, Swagger: true},
	ContainerUnpause:         {Name: "ContainerUnpause", Group: "containers", Risk: Write, Swagger: true},
	ContainerRestart:         {Name: "ContainerRestart", Group: "containers", Risk: Write, Swagger: true},
	ContainerStart:           {Name: "ContainerStart", Group: "containers", Risk: Write, Swagger: true},
	ContainerStop:            {Name: "ContainerStop", Group: "containers", Risk: Write, Swagger: true},
	ContainerWait:            {Name: "ContainerWait", Group: "containers", Risk: Read, Swagger: true},
	ContainerResize:          {Name: "ContainerResize", Group: "containers", Risk: Write, Swagger: true},
	ContainerAttach:          {Name: "ContainerAttach", Group: "containers", Risk: Escalate, Swagger: true},
	ContainerExec:            {Name: "ContainerExec", Group: "exec", Risk: Escalate, Body: true, Swagger: true},
	ExecStart:                {Name: "ExecStart", Group: "exec", Risk: Escalate, Swagger: true},
	ExecResize:               {Name: "ExecResize", Group: "exec", Risk: Write, Swagger: true},
	ContainerRename:          {Name: "ContainerRename", Group: "containers", Risk: Write, Swagger: true},
	ContainerUpdate:          {Name: "ContainerUpdate", Group: "containers", Risk: Write, Body: true, Swagger: true},
	ContainerPrune:           {Name: "ContainerPrune", Group: "containers", Risk: Write, Swagger: true},
	ImageCommit:              {Name: "ImageCommit", Group: "images", Risk: Escalate, Swagger: true},
	PutContainerArchive:      {Name: "PutContainerArchive", Group: "containers", Risk: Escalate, Swagger: true},
	ContainerDelete:          {Name: "ContainerDelete", Group: "containers", Risk: Write, Swagger: true},
	ContainerCopy:            {Name: "ContainerCopy", Group: "containers", Risk: Exfiltrate},

	ImageList:         {Name: "ImageList", Group: "images", Risk: Read, Swagger: true},
	ImageSearch:       {Name: "ImageSearch", Group: "images", Risk: Read, Swagger: true},
	ImageGetAll:       {Name: "ImageGetAll", Group: "images", Risk: Exfiltrate, Swagger: true},
	ImageGet:          {Name: "ImageGet", Group: "images", Risk: Exfiltrate, Swagger: true},
	ImageHistory:      {Name: "ImageHistory", Group: "images", Risk: Read, Swagger: true},
	ImageInspect:      {Name: "ImageInspect", Group: "images", Risk: Read, Swagger: true},
	ImageAttestations: {Name: "ImageAttestations", Group: "images", Risk: Read, Swagger: true},
	ImageLoad:         {Name: "ImageLoad", Group: "images", Risk: Write, Swagger: true},
	ImageCreate:       {Name: "ImageCreate", Group: "images", Risk: Write, Swagger: true},
	ImagePush:         {Name: "ImagePush", Group: "images", Risk: Exfiltrate, Swagger: true},
	ImageTag:          {Name: "ImageTag", Group: "images", Risk: Write, Swagger: true},
	ImagePrune:        {Name: "ImagePrune", Group: "images", Risk: Write, Swagger: true},
	ImageDelete:       {Name: "ImageDelete", Group: "images", Risk: Write, Swagger: true},

	Options:         {Name: "Options", Group: "system", Risk: Read},
	SystemPing:      {Name: "SystemPing", Group: "system", Risk: Read, Swagger: true},
	SystemPingHead:  {Name: "SystemPingHead", Group: "system", Risk: Read, Swagger: true},
	SystemEvents:    {Name: "SystemEvents", Group: "system", Risk: Read, Swagger: true},
	SystemInfo:      {Name: "SystemInfo", Group: "system", Risk: Read, Swagger: true},
	SystemVersion:   {Name: "SystemVersion", Group: "system", Risk: Read, Swagger: true},
	SystemDataUsage: {Name: "SystemDataUsage", Group: "system", Risk: Read, Swagger: true},
	SystemAuth:      {Name: "SystemAuth", Group: "system", Risk: Write, Swagger: true},

	VolumeList:    {Name: "VolumeList", Group: "volumes", Risk: Read, Swagger: true},
	VolumeInspect: {Name: "VolumeInspect", Group: "volumes", Risk: Read, Swagger: true},
	VolumeCreate:  {Name: "VolumeCreate", Group: "volumes", Risk: Write, Body: true, Swagger: true},
	VolumePrune:   {Name: "VolumePrune", Group: "volumes", Risk: Write, Swagger: true},
	VolumeUpdate:  {Name: "VolumeUpdate", Group: "volumes", Risk: Write, Swagger: true},
	VolumeDelete:  {Name: "VolumeDelete", Group: "volumes", Risk: Write, Swagger: true},

	ImageBuild:  {Name: "ImageBuild", Group: "build", Risk: Escalate, Swagger: true},
	BuildPrune:  {Name: "BuildPrune", Group: "build", Risk: Write, Swagger: true},
	BuildCancel: {Name: "BuildCancel", Group: "build", Risk: Write},

	Session: {Name: "Session", Group: "session", Risk: Escalate, Swagger: true},

	SwarmInit:      {Name: "SwarmInit", Group: "swarm", Risk: Write, Swagger: true},
	SwarmJoin:      {Name: "SwarmJoin", Group: "swarm", Risk: Escalate, Swagger: true},
	SwarmLeave:     {Name: "SwarmLeave", Group: "swarm", Risk: Write, Swagger: true},
	SwarmInspect:   {Name: "SwarmInspect", Group: "swarm", Risk: Read, Swagger: true},
	SwarmUnlockkey: {Name: "SwarmUnlockkey", Group: "swarm", Risk: Exfiltrate, Swagger: true},
	SwarmUpdate:    {Name: "SwarmUpdate", Group: "swarm", Risk: Write, Swagger: true},
	SwarmUnlock:    {Name: "SwarmUnlock", Group: "swarm", Risk: Write, Swagger: true},
	ServiceList:    {Name: "ServiceList", Group: "services", Risk: Read, Swagger: true},
	ServiceInspect: {Name: "ServiceInspect", Group: "services", Risk: Read, Swagger: true},
	ServiceCreate:  {Name: "ServiceCreate", Group: "services", Risk: Write, Body: true, Swagger: true},
	ServiceUpdate:  {Name: "ServiceUpdate", Group: "services", Risk: Write, Body: true, Swagger: true},
	ServiceDelete:  {Name: "ServiceDelete", Group: "services", Risk: Write, Swagger: true},
	ServiceLogs:    {Name: "ServiceLogs", Group: "services", Risk: Read, Swagger: true},
	NodeList:       {Name: "NodeList", Group: "nodes", Risk: Read, Swagger: true},
	NodeInspect:    {Name: "NodeInspect", Group: "nodes", Risk: Read, Swagger: true},
	NodeDelete:     {Name: "NodeDelete", Group: "nodes", Risk: Write, Swagger: true},
	NodeUpdate:     {Name: "NodeUpdate", Group: "nodes", Risk: Write, Swagger: true},
	TaskList:       {Name: "TaskList", Group: "tasks", Risk: Read, Swagger: true},
	TaskInspect:    {Name: "TaskInspect", Group: "tasks", Risk: Read, Swagger: true},
	TaskLogs:       {Name: "TaskLogs", Group: "tasks", Risk: Read, Swagger: true},
	SecretList:     {Name: "SecretList", Group: "secrets", Risk: Read, Swagger: true},
	SecretCreate:   {Name: "SecretCreate", Group: "secrets", Risk: Write, Swagger: true},
	SecretDelete:   {Name: "SecretDelete", Group: "secrets", Risk: Write, Swagger: true},
	SecretInspect:  {Name: "SecretInspect", Group: "secrets", Risk: Read, Swagger: true},
	SecretUpdate:   {Name: "SecretUpdate", Group: "secrets", Risk: Write, Swagger: true},
	ConfigList:     {Name: "ConfigList", Group: "configs", Risk: Read, Swagger: true},
	ConfigCreate:   {Name: "ConfigCreate", Group: "configs", Risk: Write, Swagger: true},
	ConfigDelete:   {Name: "ConfigDelete", Group: "configs", Risk: Write, Swagger: true},
	ConfigInspect:  {Name: "ConfigInspect", Group: "configs", Risk: Read, Swagger: true},
	ConfigUpdate:   {Name: "ConfigUpdate", Group: "configs", Risk: Write, Swagger: true},

	PluginList:          {Name: "PluginList", Group: "plugins", Risk: Read, Swagger: true},
	PluginInspect:       {Name: "PluginInspect", Group: "plugins", Risk: Read, Swagger: true},
	GetPluginPrivileges: {Name: "GetPluginPrivileges", Group: "plugins", Risk: Read, Swagger: true},
	PluginDelete:        {Name: "PluginDelete", Group: "plugins", Risk: Write, Swagger: true},
	PluginEnable:        {Name: "PluginEnable", Group: "plugins", Risk: Escalate, Swagger: true},
	PluginDisable:       {Name: "PluginDisable", Group: "plugins", Risk: Write, Swagger: true},
	PluginPull:          {Name: "PluginPull", Group: "plugins", Risk: Escalate, Swagger: true},
	PluginPush:          {Name: "PluginPush", Group: "plugins", Risk: Exfiltrate, Swagger: true},
	PluginUpgrade:       {Name: "PluginUpgrade", Group: "plugins", Risk: Escalate, Swagger: true},
	PluginSet:           {Name: "PluginSet", Group: "plugins", Risk: Escalate, Swagger: true},
	PluginCreate:        {Name: "PluginCreate", Group: "plugins", Risk: Escalate, Swagger: true},

	DistributionInspect: {Name: "DistributionInspect", Group: "distribution", Risk: Read, Swagger: true},

	NetworkList:       {Name: "NetworkList", Group: "networks", Risk: Read, Swagger: true},
	NetworkInspect:    {Name: "NetworkInspect", Group: "networks", Risk: Read, Swagger: true},
	NetworkCreate:     {Name: "NetworkCreate", Group: "networks", Risk: Write, Swagger: true},
	NetworkConnect:    {Name: "NetworkConnect", Group: "networks", Risk: Write, Swagger: true},
	NetworkDisconnect: {Name: "NetworkDisconnect", Group: "networks", Risk: Write, Swagger: true},
	NetworkPrune:      {Name: "NetworkPrune", Group: "networks", Risk: Write, Swagger: true},
	NetworkDelete:     {Name: "NetworkDelete", Group: "networks", Risk: Write, Swagger: true},

	DebugVars:  {Name: "DebugVars", Group: "debug", Risk: Exfiltrate},
	DebugPprof: {Name: "DebugPprof", Group: "debug", Risk: Exfiltrate},

	GRPC: {Name: "GRPC", Group: "grpc", Risk: Escalate},
}

// String returns the operation's name.
func (o Op) String() string {
	if o >= numOps {
		return "Unknown"
	}
	return ops[o].Name
}

// Info returns the operation's description; an Op out of range describes
// as Unknown.
func (o Op) Info() OpInfo {
	if o >= numOps {
		return ops[Unknown]
	}
	return ops[o]
}

// Ops returns every operation but Unknown, in the order of moby's routers.
func Ops() []Op {
	out := make([]Op, 0, numOps-1)
	for o := Unknown + 1; o < numOps; o++ {
		out = append(out, o)
	}
	return out
}

// Lookup returns the operation of that exact name (case-sensitive, as in
// swagger.yaml); ok is false for any other name, "Unknown" included.
func Lookup(name string) (op Op, ok bool) {
	op, ok = byName[name]
	return op, ok
}

var byName = func() map[string]Op {
	m := make(map[string]Op, numOps)
	for o := Unknown + 1; o < numOps; o++ {
		m[ops[o].Name] = o
	}
	return m
}()
