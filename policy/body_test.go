package policy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

const bodyPolicy = `
allow ContainerCreate ContainerUpdate ContainerExec ServiceCreate ServiceUpdate VolumeCreate
deny-body all
max-body 4KiB
`

func TestBodyChecks(t *testing.T) {
	p, err := Parse("body.policy", strings.NewReader(bodyPolicy))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, target, body string
		status                     int
		check                      string // the check's name in the rule, for 403
	}{
		{"plain create", "POST", "/v1.51/containers/create?name=web", `{"Image":"nginx","HostConfig":{"Binds":["data:/data"],"NetworkMode":"bridge"}}`, 200, ""},
		{"empty body", "POST", "/containers/create", ``, 200, ""},
		{"privileged", "POST", "/containers/create", `{"Image":"alpine","HostConfig":{"Privileged":true}}`, 403, "privileged"},
		{"privileged, lower-case key", "POST", "/containers/create", `{"image":"alpine","hostconfig":{"privileged":true}}`, 403, "privileged"},
		{"privileged, odd case", "POST", "/containers/create", `{"HOSTCONFIG":{"PrIvIlEgEd":true}}`, 403, "privileged"},
		{"duplicate key, either case", "POST", "/containers/create", `{"HostConfig":{"Privileged":false,"privileged":true}}`, 400, ""},
		{"duplicate key, same case", "POST", "/containers/create", `{"HostConfig":{"Privileged":true},"HostConfig":{}}`, 400, ""},
		{"non-ASCII key (long s folds onto s)", "POST", "/containers/create", `{"HostConfig":{"ſecurityOpt":["seccomp=unconfined"]}}`, 400, ""},
		{"bind of /", "POST", "/containers/create", `{"HostConfig":{"Binds":["/:/host"]}}`, 403, "host-mounts"},
		{"bind of a relative path", "POST", "/containers/create", `{"HostConfig":{"Binds":["./x:/x"]}}`, 403, "host-mounts"},
		{"mount of type bind", "POST", "/containers/create", `{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/e"}]}}`, 403, "host-mounts"},
		{"mount of type BIND", "POST", "/containers/create", `{"HostConfig":{"Mounts":[{"Type":"BIND","Source":"/etc","Target":"/e"}]}}`, 403, "host-mounts"},
		{"volume mount with bind options", "POST", "/containers/create", `{"HostConfig":{"Mounts":[{"Type":"volume","Target":"/h","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]}}`, 403, "host-mounts"},
		{"named volume mount", "POST", "/containers/create", `{"HostConfig":{"Mounts":[{"Type":"volume","Source":"data","Target":"/d"},{"Type":"tmpfs","Target":"/t"}]}}`, 200, ""},
		{"volumes from", "POST", "/containers/create", `{"HostConfig":{"VolumesFrom":["other"]}}`, 403, "host-mounts"},
		{"host network", "POST", "/containers/create", `{"HostConfig":{"NetworkMode":"host"}}`, 403, "host-namespaces"},
		{"host pid", "POST", "/containers/create", `{"HostConfig":{"PidMode":"host"}}`, 403, "host-namespaces"},
		{"host userns", "POST", "/containers/create", `{"HostConfig":{"UsernsMode":"host"}}`, 403, "host-namespaces"},
		{"cap add", "POST", "/containers/create", `{"HostConfig":{"CapAdd":["SYS_ADMIN"]}}`, 403, "capabilities"},
		{"devices", "POST", "/containers/create", `{"HostConfig":{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}}`, 403, "devices"},
		{"device requests", "POST", "/containers/create", `{"HostConfig":{"DeviceRequests":[{"Count":-1}]}}`, 403, "devices"},
		{"seccomp unconfined", "POST", "/containers/create", `{"HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}`, 403, "security-options"},
		{"apparmor unconfined", "POST", "/containers/create", `{"HostConfig":{"SecurityOpt":["apparmor:unconfined"]}}`, 403, "security-options"},
		{"masked paths emptied", "POST", "/containers/create", `{"HostConfig":{"MaskedPaths":[]}}`, 403, "security-options"},
		{"API 1.40 capability set", "POST", "/v1.40/containers/create", `{"HostConfig":{"Capabilities":["CAP_SYS_ADMIN"]}}`, 403, "capabilities"},
		{"no-new-privileges", "POST", "/containers/create", `{"HostConfig":{"SecurityOpt":["no-new-privileges"]}}`, 200, ""},
		{"update adds devices", "POST", "/containers/c1/update", `{"Devices":[{"PathOnHost":"/dev/mem"}]}`, 403, "devices"},
		{"update memory", "POST", "/containers/c1/update", `{"Memory":1048576}`, 200, ""},
		{"exec as app", "POST", "/containers/c1/exec", `{"User":"app","Cmd":["ls"]}`, 200, ""},
		{"exec as default user", "POST", "/containers/c1/exec", `{"Cmd":["sh"]}`, 403, "exec-root"},
		{"exec as root", "POST", "/containers/c1/exec", `{"User":"root:root","Cmd":["sh"]}`, 403, "exec-root"},
		{"exec as uid 0", "POST", "/containers/c1/exec", `{"user":"0","Cmd":["sh"]}`, 403, "exec-root"},
		{"exec privileged", "POST", "/containers/c1/exec", `{"User":"app","Privileged":true}`, 403, "privileged"},
		{"service bind mount", "POST", "/services/create", `{"TaskTemplate":{"ContainerSpec":{"Image":"x","Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]}}}`, 403, "host-mounts"},
		{"service host network", "POST", "/services/s1/update?version=3", `{"TaskTemplate":{"Networks":[{"Target":"host"}]}}`, 403, "host-namespaces"},
		{"service plain", "POST", "/services/create", `{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"nginx"}}}`, 200, ""},
		{"volume with bind options", "POST", "/volumes/create", `{"Name":"h","DriverOpts":{"type":"none","o":"bind","device":"/"}}`, 403, "host-mounts"},
		{"plain volume", "POST", "/volumes/create", `{"Name":"v"}`, 200, ""},
		{"not JSON", "POST", "/containers/create", `{"HostConfig":`, 400, ""},
		{"trailing data", "POST", "/containers/create", `{"Image":"a"} {"HostConfig":{"Privileged":true}}`, 400, ""},
		{"wrong type", "POST", "/containers/create", `{"HostConfig":{"Privileged":"yes"}}`, 400, ""},
		{"too large", "POST", "/containers/create", `{"Image":"` + strings.Repeat("a", 5000) + `"}`, 413, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := request(t, c.method, c.target, c.body)
			d := p.Decide(r)
			if d.Status != c.status {
				t.Fatalf("status %d (%s); want %d", d.Status, d.Message, c.status)
			}
			if c.status == 403 && (!strings.Contains(d.Rule, "deny-body") || !strings.Contains(d.Message, d.Op.String())) {
				t.Errorf("rule %q message %q", d.Rule, d.Message)
			}
			if !d.Allowed {
				return
			}
			got, err := io.ReadAll(r.Body)
			if err != nil || string(got) != c.body {
				t.Errorf("forwarded body %q (%v); want the checked %q", got, err, c.body)
			}
		})
	}
}

// TestBodyCheckedOnlyWhenOn: a policy without deny-body does not read
// bodies, and one with checks reads only bodies of operations they
// concern.
func TestBodyCheckedOnlyWhenOn(t *testing.T) {
	p, err := Parse("p", strings.NewReader("allow ContainerCreate ContainerStart\n"))
	if err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: strings.NewReader(`{"HostConfig":{"Privileged":true}}`)}
	r, _ := http.NewRequest("POST", "http://d/containers/create", io.NopCloser(body))
	if d := p.Decide(r); !d.Allowed || body.n != 0 {
		t.Errorf("unchecked policy: allowed=%v, read %d bytes", d.Allowed, body.n)
	}
	p, _ = Parse("p", strings.NewReader("allow ContainerCreate ContainerStart\ndeny-body privileged\n"))
	body = &countingReader{r: strings.NewReader(`{"Detach":true}`)}
	r, _ = http.NewRequest("POST", "http://d/containers/c1/start", io.NopCloser(body))
	if d := p.Decide(r); !d.Allowed || body.n != 0 {
		t.Errorf("start with checks on: allowed=%v, read %d bytes", d.Allowed, body.n)
	}
	r, _ = http.NewRequest("POST", "http://d/containers/create", strings.NewReader(`{}`))
	r.Header.Set("Content-Encoding", "gzip")
	if d := p.Decide(r); d.Status != 400 {
		t.Errorf("gzip body: %+v", d)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzBodyCheck: any body either is refused or reaches the upstream byte
// for byte; a body that passes never decodes (as dockerd decodes it) to a
// privileged container.
func FuzzBodyCheck(f *testing.F) {
	f.Add(`{"HostConfig":{"Privileged":true}}`)
	f.Add(`{"hostconfig":{"privileged":false}}`)
	f.Add(`{"HostConfig":{"Binds":["/:/h"],"CapAdd":["ALL"]}}`)
	p, err := Parse("fuzz", strings.NewReader("allow ContainerCreate\ndeny-body all\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r, _ := http.NewRequest("POST", "http://d/containers/create", strings.NewReader(body))
		d := p.Decide(r)
		if d.Op != dockerapi.ContainerCreate {
			t.Fatalf("op %v", d.Op)
		}
		if !d.Allowed {
			return
		}
		got, _ := io.ReadAll(r.Body)
		if !bytes.Equal(got, []byte(body)) {
			t.Fatalf("forwarded %q; checked %q", got, body)
		}
		var v createBody
		if err := jsonUnmarshal(got, &v); err == nil && v.HostConfig != nil && v.HostConfig.Privileged {
			t.Fatalf("privileged body passed: %q", body)
		}
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
