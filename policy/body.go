package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

// Check is a body check: a property of a create or update body that hands
// the host to a container. A policy enables checks with deny-body; an
// enabled check refuses (403) a body that has the property.
type Check uint8

// The body checks.
const (
	// Privileged: HostConfig.Privileged on create, Privileged on exec.
	Privileged Check = iota
	// HostMounts: a Binds entry whose source is a host path, a Mounts entry
	// of type bind, a volume mount or VolumeCreate with bind driver options
	// (o=bind or type=none), a service mount of type bind.
	HostMounts
	// HostNamespaces: host network, pid, ipc, uts, userns or cgroupns mode;
	// a service attached to the "host" network.
	HostNamespaces
	// Capabilities: CapAdd (or API 1.40's Capabilities) on create,
	// CapabilityAdd on a service.
	Capabilities
	// Devices: Devices, DeviceRequests or DeviceCgroupRules on create or
	// update.
	Devices
	// SecurityOptions: a SecurityOpt that turns confinement off
	// (seccomp/apparmor/systempaths=unconfined, label=disable), or
	// MaskedPaths/ReadonlyPaths sent explicitly.
	SecurityOptions
	// ExecRoot: an exec whose User is root, uid 0, or empty (the
	// container's user, which is root unless the image says otherwise).
	ExecRoot

	numChecks
)

var checkNames = [numChecks]string{
	Privileged:      "privileged",
	HostMounts:      "host-mounts",
	HostNamespaces:  "host-namespaces",
	Capabilities:    "capabilities",
	Devices:         "devices",
	SecurityOptions: "security-options",
	ExecRoot:        "exec-root",
}

// String returns the check's name in the policy file.
func (c Check) String() string {
	if c >= numChecks {
		return "unknown"
	}
	return checkNames[c]
}

// Checks returns every body check, in order.
func Checks() []Check {
	out := make([]Check, numChecks)
	for i := range out {
		out[i] = Check(i)
	}
	return out
}

func lookupCheck(name string) (Check, bool) {
	for i, n := range checkNames {
		if n == name {
			return Check(i), true
		}
	}
	return 0, false
}

func (p *Policy) checksOn() bool {
	for _, r := range p.checks {
		if r != 0 {
			return true
		}
	}
	return false
}

// checkBody reads and checks the body of a granted operation whose body
// can ask for the host. checked is true when it decided (a refusal);
// otherwise r.Body has been replaced by the bytes that were checked.
func (p *Policy) checkBody(r *http.Request, op dockerapi.Op) (d Decision, checked bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return Decision{}, false
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return p.bodyRefusal(op, http.StatusBadRequest, "body decode", "a body with Content-Encoding "+ce+" cannot be checked"), true
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, p.maxBody+1))
	if err != nil {
		return p.bodyRefusal(op, http.StatusBadRequest, "body decode", "reading the body: "+err.Error()), true
	}
	if int64(len(buf)) > p.maxBody {
		return p.bodyRefusal(op, http.StatusRequestEntityTooLarge, "max-body", "the body is larger than the policy's max-body"), true
	}
	r.Body = checkedBody{Reader: bytes.NewReader(buf), Closer: r.Body}
	if len(bytes.TrimSpace(buf)) == 0 {
		return Decision{}, false // dockerd refuses an empty config itself
	}
	found, err := inspectBody(op, buf)
	if err != nil {
		return p.bodyRefusal(op, http.StatusBadRequest, "body decode", "the body cannot be checked: "+err.Error()), true
	}
	for c := Check(0); c < numChecks; c++ {
		if found[c] != "" && p.checks[c] != 0 {
			desc := p.rules[p.checks[c]-1].desc
			return p.bodyRefusal(op, http.StatusForbidden, desc, found[c]+" is denied by "+desc), true
		}
	}
	return Decision{}, false
}

func (p *Policy) bodyRefusal(op dockerapi.Op, status int, rule, why string) Decision {
	return Decision{Status: status, Op: op, Rule: rule, Message: "sockproxy: operation " + op.String() + " refused: " + why}
}

// checkedBody is the body handed back to the proxy: the checked bytes,
// closed through the original body.
type checkedBody struct {
	io.Reader
	io.Closer
}

// findings holds, per check, what in the body trips it ("" for nothing).
type findings [numChecks]string

// inspectBody decodes a body as dockerd does (encoding/json: keys match
// fields in any letter case) after refusing what dockerd would decode by
// guessing: duplicate keys (compared without case, as the decoder matches
// them), keys that are not ASCII (the decoder folds some Unicode letters
// onto ASCII ones), trailing data.
func inspectBody(op dockerapi.Op, buf []byte) (findings, error) {
	var f findings
	if err := strictJSON(buf); err != nil {
		return f, err
	}
	switch op {
	case dockerapi.ContainerCreate:
		var v createBody
		if err := json.Unmarshal(buf, &v); err != nil {
			return f, err
		}
		if v.HostConfig != nil {
			v.HostConfig.inspect(&f)
		}
	case dockerapi.ContainerUpdate:
		var v resources
		if err := json.Unmarshal(buf, &v); err != nil {
			return f, err
		}
		v.inspect(&f)
	case dockerapi.ContainerExec:
		var v execBody
		if err := json.Unmarshal(buf, &v); err != nil {
			return f, err
		}
		if v.Privileged {
			f[Privileged] = "a privileged exec"
		}
		if isRoot(v.User) {
			f[ExecRoot] = "an exec as root (User " + quoteUser(v.User) + ")"
		}
	case dockerapi.ServiceCreate, dockerapi.ServiceUpdate:
		var v serviceBody
		if err := json.Unmarshal(buf, &v); err != nil {
			return f, err
		}
		v.inspect(&f)
	case dockerapi.VolumeCreate:
		var v volumeBody
		if err := json.Unmarshal(buf, &v); err != nil {
			return f, err
		}
		if bindOptions(v.DriverOpts) {
			f[HostMounts] = "a volume with bind driver options"
		}
	}
	return f, nil
}

// The parts of dockerd's request types the checks read; every other
// field is ignored, as dockerd's decoder would keep it.
type createBody struct {
	HostConfig *hostConfig
}

type resources struct {
	Devices           []json.RawMessage
	DeviceCgroupRules []string
	DeviceRequests    []json.RawMessage
}

func (r *resources) inspect(f *findings) {
	if len(r.Devices) > 0 || len(r.DeviceCgroupRules) > 0 || len(r.DeviceRequests) > 0 {
		f[Devices] = "access to host devices"
	}
}

type hostConfig struct {
	resources
	Privileged   bool
	Binds        []string
	Mounts       []mount
	NetworkMode  string
	PidMode      string
	IpcMode      string
	UTSMode      string
	UsernsMode   string
	CgroupnsMode string
	CapAdd       []string
	SecurityOpt  []string
	VolumesFrom  []string
	// Capabilities (API 1.40 only) replaced the whole capability set.
	Capabilities []string
	// MaskedPaths and ReadonlyPaths, when sent at all, replace the
	// defaults that hide /proc and /sys files (the CLI sends them empty for
	// --security-opt systempaths=unconfined).
	MaskedPaths   []string
	ReadonlyPaths []string
}

type mount struct {
	Type          string
	Source        string
	VolumeOptions *struct {
		DriverConfig *struct {
			Options map[string]string
		}
	}
}

func (h *hostConfig) inspect(f *findings) {
	if h.Privileged {
		f[Privileged] = "a privileged container"
	}
	for _, b := range h.Binds {
		if src, _, _ := strings.Cut(b, ":"); hostPath(src) {
			f[HostMounts] = "a host bind mount (" + src + ")"
		}
	}
	if len(h.VolumesFrom) > 0 {
		// the other container's mounts may be host binds
		f[HostMounts] = "volumes from another container (" + strings.Join(h.VolumesFrom, ",") + ")"
	}
	for _, m := range h.Mounts {
		if m.hostMount() {
			f[HostMounts] = "a host mount (" + m.Type + " " + m.Source + ")"
		}
	}
	for _, ns := range []struct{ name, mode string }{
		{"network", h.NetworkMode}, {"pid", h.PidMode}, {"ipc", h.IpcMode},
		{"uts", h.UTSMode}, {"userns", h.UsernsMode}, {"cgroupns", h.CgroupnsMode},
	} {
		if strings.EqualFold(strings.TrimSpace(ns.mode), "host") {
			f[HostNamespaces] = "the host's " + ns.name + " namespace"
		}
	}
	if len(h.CapAdd) > 0 {
		f[Capabilities] = "added capabilities (" + strings.Join(h.CapAdd, ",") + ")"
	}
	if len(h.Capabilities) > 0 {
		f[Capabilities] = "a capability set (" + strings.Join(h.Capabilities, ",") + ")"
	}
	if h.MaskedPaths != nil || h.ReadonlyPaths != nil {
		f[SecurityOptions] = "replaced masked or read-only system paths"
	}
	h.resources.inspect(f)
	for _, o := range h.SecurityOpt {
		if unconfined(o) {
			f[SecurityOptions] = "security option " + o
		}
	}
}

// hostPath reports a Binds source that is a host path rather than a
// volume name: volume names are [a-zA-Z0-9][a-zA-Z0-9_.-]+, so anything
// else (absolute, relative, a drive letter, a backslash) counts as a path.
func hostPath(src string) bool {
	if len(src) < 2 {
		return true
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return true
		}
	}
	return false
}

func (m mount) hostMount() bool {
	switch strings.ToLower(strings.TrimSpace(m.Type)) {
	case "volume":
		return m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil && bindOptions(m.VolumeOptions.DriverConfig.Options)
	case "tmpfs", "image", "cluster":
		return false
	}
	return true // bind, npipe, and anything dockerd might add: fail closed
}

// bindOptions reports local-driver options that bind a host path.
func bindOptions(opts map[string]string) bool {
	for k, v := range opts {
		switch strings.ToLower(k) {
		case "o":
			for _, o := range strings.Split(v, ",") {
				if o = strings.ToLower(strings.TrimSpace(o)); o == "bind" || o == "rbind" {
					return true
				}
			}
		case "type":
			if strings.EqualFold(strings.TrimSpace(v), "none") {
				return true
			}
		}
	}
	return false
}

func unconfined(opt string) bool {
	o := strings.ToLower(opt)
	return strings.Contains(o, "unconfined") || strings.Contains(o, "label=disable") || strings.Contains(o, "label:disable")
}

type execBody struct {
	User       string
	Privileged bool
}

// isRoot reports a User that runs as root: empty (the container's
// default), "root" or uid 0, with or without a group.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	if u == "" || u == "root" {
		return true
	}
	return strings.Trim(u, "0") == "" // "0", "00"
}

func quoteUser(u string) string {
	if u == "" {
		return `"" (the container's default)`
	}
	return `"` + u + `"`
}

type serviceBody struct {
	TaskTemplate struct {
		ContainerSpec *struct {
			Mounts        []mount
			CapabilityAdd []string
			Privileges    *struct {
				Seccomp  *struct{ Mode string }
				AppArmor *struct{ Mode string }
			}
		}
		Networks []struct{ Target string }
	}
}

func (s *serviceBody) inspect(f *findings) {
	if cs := s.TaskTemplate.ContainerSpec; cs != nil {
		for _, m := range cs.Mounts {
			if m.hostMount() {
				f[HostMounts] = "a host mount (" + m.Type + " " + m.Source + ")"
			}
		}
		if len(cs.CapabilityAdd) > 0 {
			f[Capabilities] = "added capabilities"
		}
		if p := cs.Privileges; p != nil {
			if (p.Seccomp != nil && strings.EqualFold(p.Seccomp.Mode, "unconfined")) || (p.AppArmor != nil && strings.EqualFold(p.AppArmor.Mode, "disabled")) {
				f[SecurityOptions] = "unconfined service privileges"
			}
		}
	}
	for _, n := range s.TaskTemplate.Networks {
		if strings.EqualFold(n.Target, "host") {
			f[HostNamespaces] = "the host network"
		}
	}
}

type volumeBody struct {
	DriverOpts map[string]string
}

var (
	errDuplicateKey = errors.New("a key appears twice in one object (compared without letter case, as dockerd's decoder matches keys)")
	errNonASCIIKey  = errors.New("a key is not ASCII (dockerd's decoder folds some letters onto ASCII ones)")
	errTrailing     = errors.New("data follows the JSON value")
	errDepth        = errors.New("the JSON nests too deep")
)

// strictJSON checks buf is one JSON value with no duplicate keys in any
// object (ASCII case-insensitive) and only ASCII keys.
func strictJSON(buf []byte) error {
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	if err := strictValue(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}

func strictValue(dec *json.Decoder, depth int) error {
	if depth > 64 {
		return errDepth
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := kt.(string)
			for i := 0; i < len(k); i++ {
				if k[i] >= 0x80 {
					return errNonASCIIKey
				}
			}
			lk := strings.ToLower(k)
			if seen[lk] {
				return errDuplicateKey
			}
			seen[lk] = true
			if err := strictValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for dec.More() {
			if err := strictValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}
