package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/policy"
)

// policyCases are raw requests through a proxy restricted to Traefik's
// preset, with the status each must get and whether the upstream may see
// it. The bypass corpus: encodings, dot segments, doubled and trailing
// slashes, version prefixes, method case, absolute-form targets,
// method-override headers, upgrades, HTTP/1.0 and bodies on GET.
var policyCases = []struct {
	name, raw string
	status    int  // the client's status
	forwarded bool // the upstream sees the request
}{
	{"ping", "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n", 200, true},
	{"list", "GET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: d\r\n\r\n", 200, true},
	{"inspect", "GET /containers/c1/json HTTP/1.1\r\nHost: d\r\n\r\n", 200, true},
	{"http10-list", "GET /containers/json HTTP/1.0\r\n\r\n", 200, true},
	{"get-with-body", "GET /containers/json HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\n\r\nabc", 200, true},
	{"exec-create", "POST /containers/c1/exec HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", 403, false},
	{"archive", "GET /containers/c1/archive?path=/etc HTTP/1.1\r\nHost: d\r\n\r\n", 403, false},
	{"export", "GET /v1.41/containers/c1/export HTTP/1.1\r\nHost: d\r\n\r\n", 403, false},
	{"attach-upgrade", upgradeRequest, 403, false},
	{"http10-delete", "DELETE /containers/c1 HTTP/1.0\r\n\r\n", 403, false},
	{"dot-segments", "GET /containers/json/../c1/export HTTP/1.1\r\nHost: d\r\n\r\n", 400, false},
	{"encoded-dot-segments", "GET /containers/json/%2e%2e/c1/export HTTP/1.1\r\nHost: d\r\n\r\n", 400, false},
	{"encoded-slash", "GET /containers/c1%2Fexport HTTP/1.1\r\nHost: d\r\n\r\n", 400, false},
	{"double-encoded", "GET /containers/c1%252Fexport HTTP/1.1\r\nHost: d\r\n\r\n", 400, false},
	{"doubled-slash", "GET //containers/c1/export HTTP/1.1\r\nHost: d\r\n\r\n", 400, false},
	{"bad-version", "GET /v1.41.0/containers/c1/export HTTP/1.1\r\nHost: d\r\n\r\n", 400, false},
	{"lower-case-method", "post /containers/c1/kill HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n", 403, false},
	{"upper-case-path", "GET /CONTAINERS/c1/EXPORT HTTP/1.1\r\nHost: d\r\n\r\n", 403, false},
	{"absolute-form", "GET http://d/containers/c1/export HTTP/1.1\r\nHost: d\r\n\r\n", 403, false},
	{"method-override", "GET /containers/c1/json HTTP/1.1\r\nHost: d\r\nX-HTTP-Method-Override: DELETE\r\n\r\n", 200, true},
	{"name-like-a-route", "GET /containers/json/export HTTP/1.1\r\nHost: d\r\n\r\n", 403, false},
	{"unknown-route", "GET /nothing/here HTTP/1.1\r\nHost: d\r\n\r\n", 403, false},
}

// TestPolicy runs the bypass corpus through a proxy restricted by the
// traefik preset in every mode: each request gets its status, a refusal
// carries dockerd's {"message":…} naming the operation, and a refused
// request never reaches the upstream, alone or pipelined behind an
// allowed one.
func TestPolicy(t *testing.T) {
	pol, err := policy.Preset("traefik")
	if err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, tc := range policyCases {
			for _, pipelined := range []bool{false, true} {
				up := startRecordingUpstream(t)
				f := startFront(t, s, up.path, withPolicy(pol))
				lb := f.log
				c := f.dial(t)
				raw := tc.raw
				if pipelined {
					raw = "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n" + raw
				}
				io.WriteString(c, raw)
				br := bufio.NewReader(c)
				if pipelined {
					if err := readWhole(br, "GET"); err != nil {
						t.Errorf("%s: allowed ping before it: %v", tc.name, err)
						continue
					}
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Errorf("%s (pipelined %v): %v", tc.name, pipelined, err)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != tc.status {
					t.Errorf("%s (pipelined %v): got %s %q; want %d", tc.name, pipelined, res.Status, body, tc.status)
				}
				if tc.status >= 400 {
					var msg struct{ Message string }
					if err := json.Unmarshal(body, &msg); err != nil || !strings.Contains(msg.Message, "sockproxy") {
						t.Errorf("%s: body %q; want dockerd's {\"message\":…} naming sockproxy", tc.name, body)
					}
					if !lb.waitFor("denied") {
						t.Errorf("%s: no audit line in the log", tc.name)
					}
				}
				c.Close()
				up.Close()
				want := 0
				if pipelined {
					want++ // the ping
				}
				if tc.forwarded {
					want++
				}
				if got := up.requests(); len(got) != want {
					t.Errorf("%s (pipelined %v): upstream saw %d requests %v; want %d", tc.name, pipelined, len(got), got, want)
				}
			}
		}
	})
}

// TestPolicyAuditLine checks a refusal's log line names the client, the
// request and the rule, once.
func TestPolicyAuditLine(t *testing.T) {
	pol, err := policy.Preset("traefik")
	if err != nil {
		t.Fatal(err)
	}
	up := startRecordingUpstream(t)
	f := startFront(t, DefaultSetup, up.path, withPolicy(pol))
	lb := f.log
	c := f.dial(t)
	io.WriteString(c, "POST /containers/c1/exec HTTP/1.1\r\nHost: d\r\nX-Registry-Auth: secret-token\r\nContent-Length: 2\r\n\r\n{}")
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
		t.Fatal(err)
	}
	if !lb.waitFor("denied") {
		t.Fatal("no audit line")
	}
	line := lb.String()
	for _, want := range []string{"127.0.0.1", "POST", "/containers/c1/exec", "ContainerExec", "traefik"} {
		if !strings.Contains(line, want) {
			t.Errorf("audit line %q does not name %q", line, want)
		}
	}
	if strings.Contains(line, "secret-token") || strings.Count(line, "denied") != 1 {
		t.Errorf("audit line %q: want one line, no X-Registry-Auth value", line)
	}
}

// TestPolicyRefusalBeforeBody sends a refused upload the way clients do
// (the head, then the body in later writes, the answer read meanwhile):
// the client reads dockerd's refusal, and its writes of the rest of the
// body do not fail (the docker CLI reported a broken pipe instead of the
// refusal when the lean front end closed with the body unread). The lean
// front end reads a body of any size while the client reads the answer;
// net/http's server, under the handler modes, reads 256 KiB of it, then
// gives the client 500 ms before it closes.
func TestPolicyRefusalBeforeBody(t *testing.T) {
	pol, err := policy.Preset("traefik")
	if err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, s Setup) {
		size := 128 << 10
		if s.Mode == ModeLean {
			size = 16 << 20
		}
		up := startRecordingUpstream(t)
		f := startFront(t, s, up.path, withPolicy(pol))
		c := f.dial(t)
		defer c.Close()
		io.WriteString(c, fmt.Sprintf("POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-tar\r\nContent-Length: %d\r\n\r\n", size))
		wrote := make(chan error, 1)
		go func() {
			piece := make([]byte, 64<<10)
			var err error
			for n := 0; n < size && err == nil; n += len(piece) {
				_, err = c.Write(piece)
			}
			wrote <- err
		}()
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("reading the refusal: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "sockproxy") {
			t.Errorf("got %s %q; want 403 with dockerd's message", res.Status, body)
		}
		if err := <-wrote; err != nil {
			t.Errorf("writing the body after the head: %v; want the front end to read it while the client reads the refusal", err)
		}
		c.Close()
		up.Close()
		if got := up.requests(); len(got) != 0 {
			t.Errorf("upstream saw %v", got)
		}
	})
}
