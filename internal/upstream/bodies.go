package upstream

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// The JSON bodies follow dockerd 20.10's field names and order (recorded in
// testdata/dockerd), with fixed, plausible values. Each ends in a newline, as
// json.Encoder output does.

var versionBody = sync.OnceValue(func() []byte {
	return []byte(`{"Platform":{"Name":"sockproxy lab upstream simulator"},` +
		`"Components":[{"Name":"Engine","Version":"` + ServerVersion + `","Details":{"ApiVersion":"` + APIVersion + `",` +
		`"Arch":"` + runtime.GOARCH + `","BuildTime":"2026-01-01T00:00:00.000000000+00:00","Experimental":"false",` +
		`"GitCommit":"sim","GoVersion":"` + runtime.Version() + `","KernelVersion":"","MinAPIVersion":"1.12","Os":"linux"}}],` +
		`"Version":"` + ServerVersion + `","ApiVersion":"` + APIVersion + `","MinAPIVersion":"1.12","GitCommit":"sim",` +
		`"GoVersion":"` + runtime.Version() + `","Os":"linux","Arch":"` + runtime.GOARCH + `","KernelVersion":"",` +
		`"BuildTime":"2026-01-01T00:00:00.000000000+00:00"}` + "\n")
})

// infoBody is longer than net/http's 2048-byte buffer, like dockerd's, so
// it is chunked as dockerd's is.
var infoBody = sync.OnceValue(func() []byte {
	return []byte(`{"ID":"SIMU:LATO:RSOC:KPRO:XYLA:BUPS:TREA:MSIM:ULAT:ORSO:CKPR:OXYL",` +
		`"Containers":10,"ContainersRunning":10,"ContainersPaused":0,"ContainersStopped":0,"Images":10,` +
		`"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"],["Supports d_type","true"],["Native Overlay Diff","true"],["userxattr","false"]],` +
		`"Plugins":{"Volume":["local"],"Network":["bridge","host","ipvlan","macvlan","null","overlay"],"Authorization":null,` +
		`"Log":["awslogs","fluentd","gcplogs","gelf","journald","json-file","local","logentries","splunk","syslog"]},` +
		`"MemoryLimit":true,"SwapLimit":true,"KernelMemory":true,"KernelMemoryTCP":true,"CpuCfsPeriod":true,"CpuCfsQuota":true,` +
		`"CPUShares":true,"CPUSet":true,"PidsLimit":true,"IPv4Forwarding":false,"BridgeNfIptables":true,"BridgeNfIp6tables":true,` +
		`"Debug":false,"NFd":22,"OomKillDisable":true,"NGoroutines":40,"SystemTime":"2026-01-01T00:00:00.000000000Z",` +
		`"LoggingDriver":"json-file","CgroupDriver":"cgroupfs","CgroupVersion":"1","NEventsListener":0,"KernelVersion":"",` +
		`"OperatingSystem":"sockproxy lab upstream simulator","OSVersion":"","OSType":"linux","Architecture":"` + runtime.GOARCH + `",` +
		`"IndexServerAddress":"https://index.docker.io/v1/","RegistryConfig":{"AllowNondistributableArtifactsCIDRs":[],` +
		`"AllowNondistributableArtifactsHostnames":[],"InsecureRegistryCIDRs":["127.0.0.0/8"],"IndexConfigs":{"docker.io":` +
		`{"Name":"docker.io","Mirrors":[],"Secure":true,"Official":true}},"Mirrors":[]},"NCPU":` + strconv.Itoa(runtime.NumCPU()) + `,` +
		`"MemTotal":8589934592,"GenericResources":null,"DockerRootDir":"/var/lib/docker","HttpProxy":"","HttpsProxy":"","NoProxy":"",` +
		`"Name":"sim","Labels":[],"ExperimentalBuild":false,"ServerVersion":"` + ServerVersion + `",` +
		`"Runtimes":{"io.containerd.runc.v2":{"path":"runc"},"io.containerd.runtime.v1.linux":{"path":"runc"},"runc":{"path":"runc"}},` +
		`"DefaultRuntime":"runc","Swarm":{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false,"Error":"",` +
		`"RemoteManagers":null},"LiveRestoreEnabled":false,"Isolation":"","InitBinary":"docker-init",` +
		`"ContainerdCommit":{"ID":"sim","Expected":"sim"},"RuncCommit":{"ID":"sim","Expected":"sim"},"InitCommit":{"ID":"","Expected":""},` +
		`"SecurityOptions":["name=seccomp,profile=default"],"Warnings":[]}` + "\n")
})

// simID returns the deterministic 64-hex-digit id of the simulator's object
// "kind-i": the hex sha256 of that string.
func simID(kind string, i int) string {
	sum := sha256.Sum256([]byte(kind + "-" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// containerEntry appends entry i of /containers/json.
func containerEntry(b []byte, i int) []byte {
	b = append(b, `{"Id":"`...)
	b = append(b, simID("container", i)...)
	b = append(b, `","Names":["/sim-`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `"],"Image":"lab/busybox","ImageID":"sha256:`...)
	b = append(b, simID("image", 0)...)
	b = append(b, `","Command":"/busybox cat","Created":1767225600,"Ports":[],"Labels":{},"State":"running","Status":"Up 5 minutes",`+
		`"HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,`+
		`"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"",`+
		`"GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}},"Mounts":[]}`...)
	return b
}

// imageEntry appends entry i of /images/json.
func imageEntry(b []byte, i int) []byte {
	b = append(b, `{"Containers":-1,"Created":1767225600,"Id":"sha256:`...)
	b = append(b, simID("image", i)...)
	b = append(b, `","Labels":null,"ParentId":"","RepoDigests":null,"RepoTags":["lab/image-`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `:latest"],"SharedSize":-1,"Size":1982288,"VirtualSize":1982288}`...)
	return b
}

// listKey names a cached list body.
type listKey struct {
	kind    string
	n, size int64
}

// lists caches list bodies, so the json benchmark shape serves a shared
// slice. Only small requests are cached, which bounds the cache.
var lists sync.Map // listKey → []byte

const (
	maxCachedEntries = 1 << 12
	maxCachedSize    = 1 << 22
)

// list answers /containers/json and /images/json: n entries (default 10),
// or, with size=SIZE, as many entries as fit in SIZE bytes, padded with
// spaces before the closing bracket to exactly SIZE bytes (at least "[]\n").
func (h *handler) list(w http.ResponseWriter, r *http.Request, entry func([]byte, int) []byte) {
	q := r.URL.RawQuery
	n, ok := countParam(w, q, "n", 10)
	if !ok {
		return
	}
	size, ok := sizeParam(w, q, "size", -1)
	if !ok {
		return
	}
	kind := "containers"
	if strings.HasPrefix(trimVersion(r.URL.Path), "/images") {
		kind = "images"
	}
	key := listKey{kind, n, size}
	if size >= 0 {
		key.n = -1
	}
	if v, ok := lists.Load(key); ok {
		writeJSON(w, http.StatusOK, v.([]byte))
		return
	}
	body := buildList(entry, n, size)
	if n <= maxCachedEntries && size <= maxCachedSize {
		lists.Store(key, body)
	}
	writeJSON(w, http.StatusOK, body)
}

// buildList builds a list body; see list.
func buildList(entry func([]byte, int) []byte, n, size int64) []byte {
	var b []byte
	if size >= 0 {
		b = make([]byte, 0, max(size, 3))
	}
	b = append(b, '[')
	for i := 0; size >= 0 || int64(i) < n; i++ {
		mark := len(b)
		if i > 0 {
			b = append(b, ',')
		}
		b = entry(b, i)
		if size >= 0 && int64(len(b))+2 > size {
			b = b[:mark]
			break
		}
	}
	for size >= 0 && int64(len(b))+2 < size {
		b = append(b, ' ')
	}
	return append(b, ']', '\n')
}

// writeInspect answers /containers/{id}/json with dockerd's inspect shape
// (longer than 2048 bytes, so chunked as dockerd's is).
func writeInspect(w http.ResponseWriter, id string) {
	b := make([]byte, 0, len(inspectHead)+len(inspectTail)+len(id)*2+16)
	b = append(b, inspectHead...)
	b = strconv.AppendQuote(b, id)
	b = append(b, inspectTail...)
	writeJSON(w, http.StatusOK, b)
}

const inspectHead = `{"Id":`

const inspectTail = `,"Created":"2026-01-01T00:00:00.000000000Z","Path":"/busybox","Args":["cat"],` +
	`"State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":4242,` +
	`"ExitCode":0,"Error":"","StartedAt":"2026-01-01T00:00:00.000000000Z","FinishedAt":"0001-01-01T00:00:00Z"},` +
	`"Image":"sha256:fb48f70d87f4fd07d91eaa193ee8494b2586b3a401dc96743b56de91027b8f09","ResolvConfPath":"","HostnamePath":"",` +
	`"HostsPath":"","LogPath":"","Name":"/sim","RestartCount":0,"Driver":"overlay2","Platform":"linux","MountLabel":"",` +
	`"ProcessLabel":"","AppArmorProfile":"","ExecIDs":null,"HostConfig":{"Binds":null,"ContainerIDFile":"",` +
	`"LogConfig":{"Type":"json-file","Config":{}},"NetworkMode":"none","PortBindings":null,"RestartPolicy":{"Name":"",` +
	`"MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"CapAdd":null,"CapDrop":null,` +
	`"CgroupnsMode":"host","Dns":null,"DnsOptions":null,"DnsSearch":null,"ExtraHosts":null,"GroupAdd":null,"IpcMode":"private",` +
	`"Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,` +
	`"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":67108864,"Runtime":"runc","ConsoleSize":[0,0],"Isolation":"",` +
	`"CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":null,"BlkioDeviceReadBps":null,` +
	`"BlkioDeviceWriteBps":null,"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":0,"CpuQuota":0,` +
	`"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":null,"DeviceCgroupRules":null,` +
	`"DeviceRequests":null,"KernelMemory":0,"KernelMemoryTCP":0,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,` +
	`"OomKillDisable":false,"PidsLimit":null,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,` +
	`"MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list",` +
	`"/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"],"ReadonlyPaths":["/proc/bus","/proc/fs","/proc/irq",` +
	`"/proc/sys","/proc/sysrq-trigger"]},"GraphDriver":{"Data":null,"Name":"overlay2"},"Mounts":[],"Config":{"Hostname":"sim",` +
	`"Domainname":"","User":"","AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":true,` +
	`"StdinOnce":true,"Env":null,"Cmd":["/busybox","cat"],"Image":"lab/busybox","Volumes":null,"WorkingDir":"","Entrypoint":null,` +
	`"OnBuild":null,"Labels":{}},"NetworkSettings":{"Bridge":"","SandboxID":"","HairpinMode":false,"LinkLocalIPv6Address":"",` +
	`"LinkLocalIPv6PrefixLen":0,"Ports":{},"SandboxKey":"","SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,` +
	`"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"",` +
	`"MacAddress":"","Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"","EndpointID":"",` +
	`"Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,` +
	`"MacAddress":"","DriverOpts":null}}}}` + "\n"

// create answers POST /containers/create as dockerd does (201, Id and
// Warnings), after reading the request body; it creates nothing.
func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	drain(r)
	b := make([]byte, 0, 100)
	b = append(b, `{"Id":"`...)
	b = append(b, simID("created", int(h.created.Add(1)))...)
	b = append(b, `","Warnings":[]}`+"\n"...)
	writeJSON(w, http.StatusCreated, b)
}

// createExec answers POST /containers/{id}/exec as dockerd does (201 and
// the exec's Id), after reading the request body.
func (h *handler) createExec(w http.ResponseWriter, r *http.Request) {
	drain(r)
	b := make([]byte, 0, 80)
	b = append(b, `{"Id":"`...)
	b = append(b, simID("exec", int(h.created.Add(1)))...)
	b = append(b, `"}`+"\n"...)
	writeJSON(w, http.StatusCreated, b)
}
