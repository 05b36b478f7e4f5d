package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// readRequests parses raw bytes as net/http's server would, one request
// after the other on one connection (pipelining), bodies included.
func readRequests(t *testing.T, raw string) []*http.Request {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(raw))
	var out []*http.Request
	for {
		r, err := http.ReadRequest(br)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("ReadRequest: %v", err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.RemoteAddr = "192.0.2.1:4242"
		out = append(out, r)
	}
}

func request(t *testing.T, method, target, body string) *http.Request {
	t.Helper()
	raw := method + " " + target + " HTTP/1.1\r\nHost: docker\r\n"
	if body != "" {
		raw += "Content-Type: application/json\r\nContent-Length: " + itoa(len(body)) + "\r\n"
	}
	return readRequests(t, raw+"\r\n"+body)[0]
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func mustPreset(t testing.TB, name string) *Policy {
	t.Helper()
	p, err := Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTraefikPreset(t *testing.T) {
	p := mustPreset(t, "traefik")
	for _, c := range []struct {
		method, target string
		status         int
		op             dockerapi.Op
	}{
		{"GET", "/_ping", 200, dockerapi.SystemPing},
		{"HEAD", "/_ping", 200, dockerapi.SystemPingHead},
		{"GET", "/v1.24/version", 200, dockerapi.SystemVersion},
		{"GET", "/v1.51/containers/json?all=1", 200, dockerapi.ContainerList},
		{"GET", "/v1.51/containers/abc/json", 200, dockerapi.ContainerInspect},
		{"GET", "/v1.51/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D", 200, dockerapi.SystemEvents},
		{"GET", "/v1.51/containers/abc/archive?path=/etc/shadow", 403, dockerapi.ContainerArchive},
		{"GET", "/v1.51/containers/abc/export", 403, dockerapi.ContainerExport},
		{"GET", "/v1.51/images/alpine/get", 403, dockerapi.ImageGet},
		{"POST", "/v1.51/containers/abc/exec", 403, dockerapi.ContainerExec},
		{"POST", "/v1.51/containers/create", 403, dockerapi.ContainerCreate},
		{"GET", "/v1.51/info", 403, dockerapi.SystemInfo},
		{"GET", "/v1.51/nope", 403, dockerapi.Unknown},
		{"GET", "/v1.51/containers/abc/../../json", 400, dockerapi.Unknown},
		{"GET", "/v1.51/containers%2Fjson", 400, dockerapi.Unknown},
	} {
		d := p.Decide(request(t, c.method, c.target, ""))
		if d.Status != c.status || d.Op != c.op || d.Allowed != (c.status == 200) {
			t.Errorf("%s %s: got %d %v allowed=%v (%s); want %d %v", c.method, c.target, d.Status, d.Op, d.Allowed, d.Message, c.status, c.op)
		}
		if c.status == 403 && c.op != dockerapi.Unknown && (!strings.Contains(d.Message, c.op.String()) || !strings.Contains(d.Message, "preset:traefik")) {
			t.Errorf("%s %s: message %q does not name the operation and the policy", c.method, c.target, d.Message)
		}
	}
}

// TestBypassRequests feeds whole requests, as a client writes them on a
// connection, through a restricted policy.
func TestBypassRequests(t *testing.T) {
	p := mustPreset(t, "traefik")
	for _, c := range []struct {
		name string
		raw  string
		want []int // status per request
	}{
		{"pipelined denied behind allowed",
			"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\nPOST /containers/c1/exec HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}GET /containers/c1/export HTTP/1.1\r\nHost: d\r\n\r\n",
			[]int{200, 403, 403}},
		{"upgrade on a denied route",
			"POST /v1.51/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
			[]int{403}},
		{"upgrade on exec start",
			"POST /v1.51/exec/e1/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n{}",
			[]int{403}},
		{"HTTP/1.0",
			"GET /containers/json HTTP/1.0\r\n\r\nGET /containers/c1/archive?path=/ HTTP/1.0\r\n\r\n",
			[]int{200, 403}},
		{"method override headers are ignored, as dockerd ignores them",
			"GET /containers/json HTTP/1.1\r\nHost: d\r\nX-HTTP-Method-Override: DELETE\r\nX-Method-Override: POST\r\n\r\nPOST /containers/c1/kill HTTP/1.1\r\nHost: d\r\nX-HTTP-Method-Override: GET\r\nContent-Length: 0\r\n\r\n",
			[]int{200, 403}},
		{"body on GET",
			"GET /containers/json HTTP/1.1\r\nHost: d\r\nContent-Length: 27\r\n\r\n{\"HostConfig\":{\"Privileged\"",
			[]int{200}},
		{"absolute-form targets route by path",
			"GET http://docker/v1.51/containers/json HTTP/1.1\r\nHost: d\r\n\r\nGET http://docker/v1.51/containers/c1/export HTTP/1.1\r\nHost: d\r\n\r\n",
			[]int{200, 403}},
		{"case of method and path",
			"get /_ping HTTP/1.1\r\nHost: d\r\n\r\nGET /Containers/json HTTP/1.1\r\nHost: d\r\n\r\nGET /V1.51/containers/json HTTP/1.1\r\nHost: d\r\n\r\n",
			[]int{403, 403, 403}},
		{"double encoding and encoded dots",
			"GET /containers/c1%252F..%252Fexport HTTP/1.1\r\nHost: d\r\n\r\nGET /containers/c1/%2e%2e/export HTTP/1.1\r\nHost: d\r\n\r\nGET /%63ontainers/json HTTP/1.1\r\nHost: d\r\n\r\n",
			[]int{400, 400, 200}},
		{"doubled and trailing slashes, version variants",
			"GET //containers/json HTTP/1.1\r\nHost: d\r\n\r\nGET /containers/json/ HTTP/1.1\r\nHost: d\r\n\r\nGET /v1/containers/json HTTP/1.1\r\nHost: d\r\n\r\nGET /v1.51.0/containers/json HTTP/1.1\r\nHost: d\r\n\r\nGET /v1.51/v1.51/containers/json HTTP/1.1\r\nHost: d\r\n\r\n",
			[]int{400, 403, 400, 400, 403}},
		{"container names that look like routes",
			"GET /containers/x/export/json HTTP/1.1\r\nHost: d\r\n\r\nGET /containers/json/export HTTP/1.1\r\nHost: d\r\n\r\n",
			[]int{200, 403}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reqs := readRequests(t, c.raw)
			if len(reqs) != len(c.want) {
				t.Fatalf("parsed %d requests; want %d", len(reqs), len(c.want))
			}
			for i, r := range reqs {
				if d := p.Decide(r); d.Status != c.want[i] {
					t.Errorf("request %d (%s %s): status %d (%v, %s); want %d", i, r.Method, r.RequestURI, d.Status, d.Op, d.Message, c.want[i])
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	p, err := Parse("test.policy", strings.NewReader(`
# a comment
allow ContainerList   ContainerInspect # trailing comment
allow GET /containers/{id}/logs
allow ContainerExec
deny ContainerExec
preset traefik
deny-body privileged host-mounts
max-body 64KiB
`))
	if err != nil {
		t.Fatal(err)
	}
	for op, want := range map[dockerapi.Op]bool{
		dockerapi.ContainerList: true, dockerapi.ContainerInspect: true, dockerapi.ContainerLogs: true,
		dockerapi.SystemEvents: true, dockerapi.ContainerExec: false, dockerapi.ContainerStats: false,
	} {
		if got := p.Grants(op); got != want {
			t.Errorf("Grants(%v) = %v; want %v", op, got, want)
		}
	}
	if p.MaxBody() != 64<<10 {
		t.Errorf("MaxBody = %d", p.MaxBody())
	}
	d := p.Decide(request(t, "POST", "/containers/c1/exec", `{"User":"app"}`))
	if d.Status != 403 || d.Rule != "test.policy:6: deny ContainerExec" {
		t.Errorf("deny does not win: %+v", d)
	}
	d = p.Decide(request(t, "GET", "/containers/c1/json", ""))
	if !d.Allowed || d.Rule != "test.policy:3: allow ContainerList ContainerInspect" {
		t.Errorf("allowed decision cites %q", d.Rule)
	}

	for _, bad := range []string{
		"allow ContainerLst",
		"allow containerlist",
		"allow get /containers/json",
		"allow GET /containers/{id}/nothing",
		"allow",
		"permit ContainerList",
		"deny-body everything",
		"max-body lots",
		"max-body 0",
		"preset nope",
		"allow Unknown",
		"allow-all please",
	} {
		if _, err := Parse("bad.policy", strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		} else if !strings.Contains(err.Error(), "bad.policy:1") {
			t.Errorf("Parse(%q): error %q does not name the line", bad, err)
		}
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load("preset:traefik"); err != nil {
		t.Error(err)
	}
	if _, err := Load("preset:nope"); err == nil {
		t.Error("Load(preset:nope) succeeded")
	}
	path := filepath.Join(t.TempDir(), "p")
	if err := os.WriteFile(path, []byte("allow SystemPing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil || !p.Grants(dockerapi.SystemPing) || p.Name() != path {
		t.Errorf("Load(file) = %v, %v", p, err)
	}
	if _, err := Load(path + ".missing"); err == nil {
		t.Error("Load(missing file) succeeded")
	}
}

func TestAllowAll(t *testing.T) {
	p := mustPreset(t, "allow-all")
	for _, target := range []string{"/_lab/blob?size=1", "/containers/c1/export", "/containers/../x"} {
		if d := p.Decide(request(t, "GET", target, "")); !d.Allowed {
			t.Errorf("allow-all refused %s: %+v", target, d)
		}
	}
}

func TestWriteError(t *testing.T) {
	p := mustPreset(t, "traefik")
	r := request(t, "POST", "/v1.51/containers/c1/exec", "")
	d := p.Decide(r)
	rec := httptest.NewRecorder()
	d.WriteError(rec)
	if rec.Code != 403 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Message != d.Message {
		t.Errorf("body %q: %v", rec.Body.String(), err)
	}
	if rec.Header().Get("Content-Length") != itoa(rec.Body.Len()) {
		t.Errorf("Content-Length %s for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
	}
	line := d.AuditLine(r)
	for _, want := range []string{"client=192.0.2.1:4242", `method="POST"`, `path="/v1.51/containers/c1/exec"`, "op=ContainerExec", `rule="default deny of preset:traefik"`, "status=403"} {
		if !strings.Contains(line, want) {
			t.Errorf("audit line %q lacks %s", line, want)
		}
	}
	r = request(t, "GET", "/containers/c1%0Ajson%0D", "")
	if d := p.Decide(r); d.Status != 400 || strings.ContainsAny(d.AuditLine(r), "\n\r") || strings.ContainsAny(d.Message, "\n\r") {
		t.Errorf("encoded line break: %d %q %q", d.Status, d.AuditLine(r), d.Message)
	}
}

// TestExplainGolden checks -explain's output for every preset and an
// environment.
func TestExplainGolden(t *testing.T) {
	for _, name := range PresetNames() {
		golden(t, "explain-"+name+".txt", func(w io.Writer) error { return mustPreset(t, name).Explain(w) })
	}
	env := map[string]string{"CONTAINERS": "1", "POST": "1", "ALLOW_START": "1", "ALLOW_STOP": "1"}
	p, _, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "explain-env.txt", p.Explain)
}

func golden(t *testing.T, name string, write func(io.Writer) error) {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, buf.String())
	}
}

func TestDecideAllocs(t *testing.T) {
	p := mustPreset(t, "traefik")
	for _, target := range []string{"/_ping", "/v1.51/containers/json", "/v1.51/containers/4f66ad9a0b2e/json"} {
		r := request(t, "GET", target, "")
		if n := testing.AllocsPerRun(100, func() { _ = p.Decide(r) }); n != 0 {
			t.Errorf("Decide(GET %s) allocates %v times", target, n)
		}
	}
}

var sinkDecision Decision

func BenchmarkDecide(b *testing.B) {
	p := mustPreset(b, "traefik")
	for _, c := range []struct{ name, target string }{
		{"ping", "/_ping"},
		{"list", "/v1.51/containers/json?all=1"},
		{"inspect", "/v1.51/containers/4f66ad9a0b2e4f66ad9a0b2e4f66ad9a0b2e4f66ad9a0b2e4f66ad9a0b2e1234/json"},
		{"denied", "/v1.51/containers/4f66ad9a0b2e/export"},
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + c.target + " HTTP/1.1\r\nHost: d\r\n\r\n")))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("policy=traefik/route="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkDecision = p.Decide(r)
			}
		})
	}
	// A checked create body: the cost of reading and decoding it.
	env, _, _ := FromEnv(func(k string) (string, bool) {
		v, ok := map[string]string{"CONTAINERS": "1", "POST": "1"}[k]
		return v, ok
	})
	body := `{"Image":"nginx:1.27","Env":["A=1","B=2"],"Labels":{"app":"web"},"HostConfig":{"Binds":["data:/data"],"NetworkMode":"bridge","RestartPolicy":{"Name":"always"}}}`
	b.Run("policy=env/route=create", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r, _ := http.NewRequest("POST", "http://d/v1.51/containers/create", strings.NewReader(body))
			sinkDecision = env.Decide(r)
			if !sinkDecision.Allowed {
				b.Fatal(sinkDecision.Message)
			}
		}
	})
}

func TestDecideOddRequests(t *testing.T) {
	p := mustPreset(t, "traefik")
	if d := p.Decide(&http.Request{Method: "GET", RequestURI: "/_ping"}); d.Allowed || d.Status != 400 {
		t.Errorf("request without URL: %+v", d)
	}
	if d := p.Decide(&http.Request{Method: "", URL: &url.URL{Path: "/_ping"}}); d.Allowed {
		t.Errorf("request without method allowed: %+v", d)
	}
}
