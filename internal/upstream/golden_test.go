package upstream

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

var recordDockerd = flag.String("record-dockerd", "",
	"record testdata/dockerd/*.golden from the dockerd listening on this Unix socket (see testdata/dockerd/README.md)")

// TestRecordDockerd writes the golden files from a real dockerd. It runs
// only with -record-dockerd=SOCKET.
func TestRecordDockerd(t *testing.T) {
	if *recordDockerd == "" {
		t.Skip("records golden files only with -record-dockerd=/path/to/docker.sock")
	}
	shapes := exchange(t, *recordDockerd, true)
	dir := filepath.Join("testdata", "dockerd")
	for _, s := range shapes {
		if err := os.WriteFile(filepath.Join(dir, s.name+".golden"), []byte(s.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoldenShapes checks that the simulator frames each exchange as the
// recorded dockerd did: status, headers, framing, chunking, frames, and
// JSON fields (the simulator's top-level keys must be among dockerd's).
func TestGoldenShapes(t *testing.T) {
	srv := startServer(t)
	for _, s := range exchange(t, srv.Path(), false) {
		t.Run(s.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "dockerd", s.name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			compareShape(t, s.text, string(want))
		})
	}
}

// compareShape compares two shapes line by line; "json-keys:" lines only
// require got's keys to be among want's.
func compareShape(t *testing.T, got, want string) {
	t.Helper()
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(gl) != len(wl) {
		t.Fatalf("shape has %d lines; want %d\ngot:\n%s\nwant:\n%s", len(gl), len(wl), got, want)
	}
	for i := range gl {
		g, w := gl[i], wl[i]
		if gk, ok := strings.CutPrefix(g, "json-keys: "); ok {
			wk, ok := strings.CutPrefix(w, "json-keys: ")
			if !ok {
				t.Errorf("line %d: got %q; want %q", i+1, g, w)
				continue
			}
			wantKeys := strings.Fields(wk)
			for _, k := range strings.Fields(gk) {
				if !slices.Contains(wantKeys, k) {
					t.Errorf("line %d: JSON key %s is not one dockerd sends (%s)", i+1, k, wk)
				}
			}
			continue
		}
		if g != w {
			t.Errorf("line %d: got %q; want %q", i+1, g, w)
		}
	}
}

// namedShape is one exchange's shape.
type namedShape struct{ name, text string }

// bodyKind says how shape summarizes a body.
type bodyKind int

const (
	bodyNone   bodyKind = iota // not summarized
	bodyExact                  // the body itself
	bodyJSON                   // top-level JSON keys
	bodyTar                    // chunk sizes
	bodyFrames                 // multiplexed frames
	bodyLines                  // one JSON line per chunk
)

var (
	serverVersion = regexp.MustCompile(`^Docker/[^ ]+ \(linux\)$`)
	hexID         = regexp.MustCompile(`[0-9a-f]{64}`)
)

// shape renders what the simulator must share with dockerd about resp.
// The Date header is dropped, the Server version and varying lengths are
// replaced by placeholders.
func shape(title string, resp *rawResp, kind bodyKind, keepLength bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\nstatus: %s\n", title, resp.status)
	keys := make([]string, 0, len(resp.header))
	for k := range resp.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "Date" {
			continue
		}
		v := strings.Join(resp.header[k], ", ")
		switch {
		case k == "Server" && serverVersion.MatchString(v):
			v = "Docker/<version> (linux)"
		case k == "Content-Length" && !keepLength:
			v = "<n>"
		}
		fmt.Fprintf(&b, "header: %s: %s\n", k, v)
	}
	if resp.framing == "hijacked" {
		// dockerd writes these heads by hand: their order is its own.
		fmt.Fprintf(&b, "header-order: %s\n", strings.Join(resp.order, " "))
	}
	fmt.Fprintf(&b, "framing: %s\ncomplete: %v\n", resp.framing, resp.complete)
	switch kind {
	case bodyExact:
		fmt.Fprintf(&b, "body: %q\n", resp.body)
	case bodyJSON:
		fmt.Fprintf(&b, "json-keys: %s\n", jsonKeys(resp.body))
		fmt.Fprintf(&b, "ends-with-newline: %v\n", strings.HasSuffix(string(resp.body), "\n"))
	case bodyTar:
		fmt.Fprintf(&b, "chunks: %s\n", chunkSummary(resp.chunks))
	case bodyFrames:
		fmt.Fprintf(&b, "frame-per-chunk: %v\n", framePerChunk(resp))
		var streams []string
		r := strings.NewReader(string(resp.body))
		for {
			st, _, err := ReadFrame(r)
			if err != nil {
				if err != io.EOF {
					streams = append(streams, "error: "+err.Error())
				}
				break
			}
			if s := fmt.Sprint(st); !slices.Contains(streams, s) {
				streams = append(streams, s)
			}
		}
		slices.Sort(streams)
		fmt.Fprintf(&b, "streams: %s\n", strings.Join(streams, " "))
	case bodyLines:
		perChunk := len(resp.chunks) > 0
		start := 0
		for _, n := range resp.chunks {
			c := resp.body[start : start+n]
			start += n
			if strings.Count(string(c), "\n") != 1 || c[len(c)-1] != '\n' {
				perChunk = false
			}
		}
		fmt.Fprintf(&b, "json-line-per-chunk: %v\n", perChunk)
		first, _, _ := strings.Cut(string(resp.body), "\n")
		fmt.Fprintf(&b, "json-keys: %s\n", jsonKeys([]byte(first)))
	}
	return b.String()
}

// jsonKeys lists the top-level keys of an object, or of an array's first
// element as "[ keys ]".
func jsonKeys(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "not JSON: " + err.Error()
	}
	keys := func(v any) string {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Sprintf("(%T)", v)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return strings.Join(ks, " ")
	}
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			return "[ ]"
		}
		return "[ " + keys(a[0]) + " ]"
	}
	return keys(v)
}

// chunkSummary says whether every chunk but the last carries 32 KiB.
func chunkSummary(chunks []int) string {
	if len(chunks) == 0 {
		return "none"
	}
	for _, n := range chunks[:len(chunks)-1] {
		if n != pieceSize {
			return fmt.Sprint(chunks)
		}
	}
	if chunks[len(chunks)-1] > pieceSize {
		return fmt.Sprint(chunks)
	}
	return "32768 each, the last at most 32768"
}

// framePerChunk reports whether each chunk holds exactly one frame.
func framePerChunk(resp *rawResp) bool {
	if len(resp.chunks) == 0 {
		return false
	}
	start := 0
	for _, n := range resp.chunks {
		c := resp.body[start : start+n]
		start += n
		if len(c) < frameHeaderSize || int(c[4])<<24|int(c[5])<<16|int(c[6])<<8|int(c[7]) != n-frameHeaderSize {
			return false
		}
	}
	return true
}

// exchange runs the recorded conversation against the daemon at path (a
// real dockerd when dockerd is true, else the simulator) and returns the
// shape of each exchange. The requests differ only where the simulator
// takes knobs instead of real objects.
func exchange(t *testing.T, path string, dockerd bool) []namedShape {
	t.Helper()
	pick := func(d, s string) string {
		if dockerd {
			return d
		}
		return s
	}
	var out []namedShape
	add := func(name, title string, resp *rawResp, kind bodyKind, keepLength bool) {
		out = append(out, namedShape{name, shape(title, resp, kind, keepLength)})
	}
	do := func(method, target string, headers []string, body []byte) *rawResp {
		return rawDo(t, path, method, target, headers, body)
	}
	jsonHdr := []string{"Content-Type: application/json"}
	upgradeHdr := []string{"Connection: Upgrade", "Upgrade: tcp"}
	idOf := func(resp *rawResp) string {
		var v struct{ Id string }
		if err := json.Unmarshal(resp.body, &v); err != nil || v.Id == "" {
			t.Fatalf("no Id in %s %q: %v", resp.status, resp.body, err)
		}
		return v.Id
	}
	since := time.Now().Add(-time.Second).Unix()
	var cleanup []string
	defer func() {
		for _, id := range cleanup {
			do("DELETE", "/containers/"+id+"?force=1", nil, nil)
		}
	}()

	add("ping-get", "GET /_ping", do("GET", "/_ping", nil, nil), bodyExact, true)
	add("ping-head", "HEAD /_ping", do("HEAD", "/_ping", nil, nil), bodyNone, true)
	add("version", "GET /v1.41/version", do("GET", "/v1.41/version", nil, nil), bodyJSON, false)
	add("info", "GET /info", do("GET", "/info", nil, nil), bodyJSON, false)
	add("images-json", "GET /images/json with one image",
		do("GET", pick("/images/json", "/images/json?n=1"), nil, nil), bodyJSON, false)
	add("not-found", "GET /nope", do("GET", "/nope", nil, nil), bodyExact, true)
	add("not-found-versioned", "GET /v1.41/nope", do("GET", "/v1.41/nope", nil, nil), bodyExact, true)
	add("not-found-method", "DELETE /version", do("DELETE", "/version", nil, nil), bodyExact, true)
	save := do("GET", pick("/images/lab/busybox/get", "/images/lab/busybox/get?size=2000000"), nil, nil)
	add("image-save", "GET /images/lab/busybox/get", save, bodyTar, false)

	// A container running cat, attached with an upgrade; its wait is
	// requested before it starts.
	create := do("POST", "/v1.41/containers/create", jsonHdr, []byte(
		`{"Image":"lab/busybox","Cmd":["/busybox","cat"],"OpenStdin":true,"StdinOnce":true,`+
			`"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"HostConfig":{"NetworkMode":"none"}}`))
	add("create", "POST /containers/create", create, bodyJSON, false)
	id := idOf(create)
	cleanup = append(cleanup, id)
	add("containers-json", "GET /containers/json with one container",
		do("GET", pick("/containers/json?all=1&limit=1", "/containers/json?n=1"), nil, nil), bodyJSON, false)
	add("inspect", "GET /containers/{id}/json", do("GET", "/containers/"+id+"/json", nil, nil), bodyJSON, false)

	att := dialRaw(t, path)
	att.send("POST", "/v1.41/containers/"+id+"/attach?stream=1&stdin=1&stdout=1&stderr=1", upgradeHdr, nil)
	attHead := att.head()
	wait := dialRaw(t, path)
	wait.send("POST", "/v1.41/containers/"+id+"/wait", nil, nil)
	waitResp := wait.head() // flushed before the container even starts
	add("start", "POST /containers/{id}/start", do("POST", "/v1.41/containers/"+id+"/start", nil, nil), bodyNone, false)
	add("attach-upgrade", "POST /containers/{id}/attach with Upgrade: tcp, echo, half-close",
		hijacked(t, att, attHead), bodyNone, false)
	out[len(out)-1].text += echoShape(t, att)
	wait.body(waitResp, "POST")
	add("wait", "POST /containers/{id}/wait", waitResp, bodyExact, false)

	// A container that writes to stdout and stderr, then exits.
	create = do("POST", "/v1.41/containers/create", jsonHdr, []byte(
		`{"Image":"lab/busybox","Cmd":["/busybox","sh","-c","echo out; echo err >&2"],"HostConfig":{"NetworkMode":"none"}}`))
	id2 := idOf(create)
	cleanup = append(cleanup, id2)
	if dockerd {
		do("POST", "/containers/"+id2+"/start", nil, nil)
		do("POST", "/containers/"+id2+"/wait", nil, nil)
	}
	add("logs", "GET /containers/{id}/logs",
		do("GET", "/containers/"+id2+pick("/logs?stdout=1&stderr=1", "/logs?lines=2"), nil, nil), bodyFrames, false)
	add("logs-follow", "GET /containers/{id}/logs?follow=1 (exited container)",
		do("GET", "/containers/"+id2+pick("/logs?stdout=1&stderr=1&follow=1", "/logs?follow=1&lines=2"), nil, nil),
		bodyFrames, false)
	add("export", "GET /containers/{id}/export",
		do("GET", "/containers/"+id2+pick("/export", "/export?size=2000000"), nil, nil), bodyTar, false)

	// A long-running container for exec and a plain attach.
	create = do("POST", "/v1.41/containers/create", jsonHdr, []byte(
		`{"Image":"lab/busybox","Cmd":["/busybox","cat"],"OpenStdin":true,"HostConfig":{"NetworkMode":"none"}}`))
	id3 := idOf(create)
	cleanup = append(cleanup, id3)
	do("POST", "/containers/"+id3+"/start", nil, nil)
	execResp := do("POST", "/v1.41/containers/"+id3+"/exec", jsonHdr, []byte(
		`{"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Cmd":["/busybox","cat"]}`))
	add("exec-create", "POST /containers/{id}/exec", execResp, bodyJSON, false)
	ex := dialRaw(t, path)
	ex.send("POST", "/v1.41/exec/"+idOf(execResp)+"/start", append(upgradeHdr, jsonHdr...),
		[]byte(`{"Detach":false,"Tty":false}`))
	add("exec-start-upgrade", "POST /exec/{id}/start with Upgrade: tcp, echo, half-close",
		hijacked(t, ex, ex.head()), bodyNone, false)
	out[len(out)-1].text += echoShape(t, ex)
	plain := dialRaw(t, path)
	plain.send("POST", "/v1.41/containers/"+id3+"/attach?stream=1&stdout=1&stderr=1", nil, nil)
	add("attach-plain", "POST /containers/{id}/attach without Upgrade", hijacked(t, plain, plain.head()), bodyNone, false)

	// Live streams: the head must arrive before any event or log line.
	live := dialRaw(t, path)
	live.send("GET", pick("/events", "/events?every=1h"), nil, nil)
	add("events-live", "GET /events, head only (sent before any event)", headOnly(live.head()), bodyNone, false)
	live = dialRaw(t, path)
	live.send("GET", "/containers/"+id3+pick("/logs?stdout=1&stderr=1&follow=1&tail=0", "/logs?follow=1&every=1h"), nil, nil)
	add("logs-follow-live", "GET /containers/{id}/logs?follow=1, head only (sent before any line)",
		headOnly(live.head()), bodyNone, false)

	filters := url.QueryEscape(`{"type":["container"]}`)
	add("events", "GET /events (container events, ended by until / count)",
		do("GET", pick(fmt.Sprintf("/events?since=%d&until=%d&filters=%s", since, time.Now().Unix(), filters),
			"/events?count=3&every=0"), nil, nil), bodyLines, false)
	if !dockerd {
		// The simulator's load answer is its own; only dockerd's is recorded.
		return out
	}
	add("images-load", "POST /images/load (dockerd's answer; the simulator answers {\"sha256\"})",
		do("POST", "/images/load", []string{"Content-Type: application/x-tar"}, save.body), bodyNone, false)
	return out
}

// hijacked marks a hijacked response's head: its header order matters, as
// dockerd writes it by hand.
func hijacked(t *testing.T, rc *rawConn, resp *rawResp) *rawResp {
	t.Helper()
	resp.framing, resp.complete = "hijacked", true
	return resp
}

// headOnly marks a response of which only the head was read.
func headOnly(resp *rawResp) *rawResp {
	resp.framing, resp.complete = "not read (head only)", false
	return resp
}

// echoShape sends a line on a hijacked stream, half-closes, and describes
// what came back: the echo frame, and whether the stream then ended.
func echoShape(t *testing.T, rc *rawConn) string {
	t.Helper()
	const msg = "hello\n"
	if _, err := rc.c.Write([]byte(msg)); err != nil {
		t.Fatalf("write stdin: %v", err)
	}
	s, p, err := ReadFrame(rc.br)
	if err != nil {
		t.Fatalf("read echo frame: %v", err)
	}
	if err := rc.c.CloseWrite(); err != nil {
		t.Fatalf("half-close: %v", err)
	}
	// Drain to EOF: dockerd ends the stream when cat exits; the simulator
	// writes its final frame first.
	for {
		if _, _, err := ReadFrame(rc.br); err != nil {
			return fmt.Sprintf("echo: stream %d %q (sent %q)\nafter half-close: %v\n",
				s, p, msg, err)
		}
	}
}

// startServer starts a simulator on a short socket path, closed at the end
// of the test.
func startServer(t testing.TB) *Server {
	t.Helper()
	srv, err := Start(testsock.Path(t, "up.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}
