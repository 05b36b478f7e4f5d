package upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wantHead checks a response's status line and some header values ("" means
// absent).
func wantHead(t *testing.T, resp *rawResp, status string, headers map[string]string) {
	t.Helper()
	if resp.status != status {
		t.Errorf("status = %q; want %q", resp.status, status)
	}
	for k, want := range headers {
		if got := strings.Join(resp.header[k], ", "); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
}

func TestPing(t *testing.T) {
	srv := startServer(t)
	rc := dialRaw(t, srv.Path())
	for _, target := range []string{"/_ping", "/v1.41/_ping", "/v1.24/_ping"} {
		resp := rc.do("GET", target, nil, nil) // one keep-alive connection
		wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{
			"Content-Length": "2", "Transfer-Encoding": "", "Content-Type": "text/plain; charset=utf-8",
			"Api-Version": "1.41", "Docker-Experimental": "false", "Ostype": "linux",
			"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
			"Server": "Docker/" + ServerVersion + " (linux)",
		})
		if string(resp.body) != "OK" || !resp.complete {
			t.Errorf("%s: body %q, complete %v; want \"OK\", true", target, resp.body, resp.complete)
		}
	}
	resp := rc.do("HEAD", "/_ping", nil, nil)
	wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{"Content-Length": "0", "Api-Version": "1.41"})
}

func TestNotFound(t *testing.T) {
	srv := startServer(t)
	for _, req := range []string{"GET /nope", "GET /v1.41/nope", "POST /_ping", "DELETE /version",
		"GET /v1.x/version", "GET /containers/", "GET /containers/x/nope", "GET /images//get", "POST /exec/a/b/start"} {
		method, target, _ := strings.Cut(req, " ")
		resp := rawDo(t, srv.Path(), method, target, nil, nil)
		wantHead(t, resp, "HTTP/1.1 404 Not Found", map[string]string{
			"Content-Type": "application/json", "Content-Length": "29", "Api-Version": ""})
		if string(resp.body) != `{"message":"page not found"}`+"\n" {
			t.Errorf("%s: body %q", req, resp.body)
		}
	}
}

func TestBadKnobs(t *testing.T) {
	srv := startServer(t)
	for _, target := range []string{"/_lab/blob?size=lots", "/_ping?delay=soon", "/images/x/get?fail_after=-1",
		"/events?count=-2", "/_ping?slow_every=x", "/containers/json?n=many"} {
		resp := rawDo(t, srv.Path(), "GET", target, nil, nil)
		wantHead(t, resp, "HTTP/1.1 400 Bad Request", map[string]string{"Content-Type": "application/json"})
		if !bytes.HasPrefix(resp.body, []byte(`{"message":"invalid `)) {
			t.Errorf("%s: body %q; want a message naming the knob", target, resp.body)
		}
	}
}

func TestJSONEndpoints(t *testing.T) {
	srv := startServer(t)
	cases := []struct {
		target, framing string
	}{
		{"/version", "content-length"},
		{"/v1.41/info", "chunked"}, // longer than net/http's 2048-byte buffer, as dockerd's
		{"/containers/json", "chunked"},
		{"/containers/json?n=0", "content-length"},
		{"/images/json?n=2", "content-length"},
		{"/containers/abc/json", "chunked"},
	}
	for _, tc := range cases {
		resp := rawDo(t, srv.Path(), "GET", tc.target, nil, nil)
		wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{"Content-Type": "application/json", "Api-Version": "1.41"})
		if resp.framing != tc.framing || !resp.complete {
			t.Errorf("%s: framing %s (complete %v); want %s", tc.target, resp.framing, resp.complete, tc.framing)
		}
		var v any
		if err := json.Unmarshal(resp.body, &v); err != nil {
			t.Errorf("%s: %v", tc.target, err)
		}
	}
	var list []struct{ Id string }
	json.Unmarshal(rawDo(t, srv.Path(), "GET", "/containers/json", nil, nil).body, &list)
	ids := map[string]bool{}
	for _, c := range list {
		ids[c.Id] = true
	}
	if len(list) != 10 || len(ids) != 10 {
		t.Errorf("default list: %d entries, %d distinct ids; want 10, 10", len(list), len(ids))
	}
}

func TestListSize(t *testing.T) {
	srv := startServer(t)
	for _, size := range []int{0, 3, 100, 1536, 64 << 10} {
		for _, kind := range []string{"containers", "images"} {
			target := fmt.Sprintf("/%s/json?size=%dB", kind, size)
			resp := rawDo(t, srv.Path(), "GET", target, nil, nil)
			if want := max(size, 3); len(resp.body) != want {
				t.Errorf("%s: %d bytes; want %d", target, len(resp.body), want)
			}
			var v []any
			if err := json.Unmarshal(resp.body, &v); err != nil {
				t.Errorf("%s: %v", target, err)
			}
			if want := size > 2048; (resp.framing == "chunked") != want {
				t.Errorf("%s: framing %s; want chunked %v", target, resp.framing, want)
			}
		}
	}
}

func TestBlob(t *testing.T) {
	srv := startServer(t)
	for _, size := range []int64{0, 1, 1536, 64 << 10, 1<<20 + 7} {
		resp := rawDo(t, srv.Path(), "GET", fmt.Sprintf("/_lab/blob?size=%d", size), nil, nil)
		wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{
			"Content-Length": fmt.Sprint(size), "Transfer-Encoding": "", "Content-Type": "application/octet-stream"})
		if !resp.complete || sha256.Sum256(resp.body) != ContentSHA256(size) {
			t.Errorf("size %d: complete %v, sha256 mismatch %v", size, resp.complete,
				sha256.Sum256(resp.body) != ContentSHA256(size))
		}
	}
	resp := rawDo(t, srv.Path(), "GET", "/v1.41/_lab/blob?size=64KiB", nil, nil)
	if len(resp.body) != 64<<10 {
		t.Errorf("size=64KiB: %d bytes", len(resp.body))
	}
}

func TestBlobFailAfter(t *testing.T) {
	srv := startServer(t)
	for _, fail := range []int64{0, 1, 40000} {
		resp := rawDo(t, srv.Path(), "GET", fmt.Sprintf("/_lab/blob?size=1MiB&fail_after=%d", fail), nil, nil)
		wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{"Content-Length": "1048576"})
		if resp.complete || int64(len(resp.body)) != fail || !errors.Is(resp.err, io.ErrUnexpectedEOF) {
			t.Errorf("fail_after=%d: complete %v, %d bytes, err %v; want false, %d, unexpected EOF",
				fail, resp.complete, len(resp.body), resp.err, fail)
		}
		if !bytes.Equal(resp.body, must(io.ReadAll(Content(fail)))) {
			t.Errorf("fail_after=%d: the bytes before the abort are not the content", fail)
		}
	}
	// fail_after beyond the size changes nothing.
	resp := rawDo(t, srv.Path(), "GET", "/_lab/blob?size=100&fail_after=100", nil, nil)
	if !resp.complete || len(resp.body) != 100 {
		t.Errorf("fail_after=size: complete %v, %d bytes", resp.complete, len(resp.body))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestTar(t *testing.T) {
	srv := startServer(t)
	for _, target := range []string{"/images/lab/busybox/get", "/v1.41/images/abc/get", "/containers/abc/export"} {
		for _, size := range []int64{0, 1, pieceSize, pieceSize + 1, 1<<20 + 3} {
			resp := rawDo(t, srv.Path(), "GET", fmt.Sprintf("%s?size=%d", target, size), nil, nil)
			ct := "application/x-tar"
			if strings.HasSuffix(target, "export") {
				ct = "application/octet-stream"
			}
			wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{
				"Transfer-Encoding": "chunked", "Content-Length": "", "Content-Type": ct})
			if !resp.complete || sha256.Sum256(resp.body) != ContentSHA256(size) {
				t.Errorf("%s size %d: complete %v, sha256 ok %v", target, size, resp.complete,
					sha256.Sum256(resp.body) == ContentSHA256(size))
			}
			var want []int
			for n := size; n > 0; n -= pieceSize {
				want = append(want, int(min(n, pieceSize)))
			}
			if !slices.Equal(resp.chunks, want) {
				t.Errorf("%s size %d: chunks %v; want %v", target, size, resp.chunks, want)
			}
		}
	}
}

func TestTarFailAfter(t *testing.T) {
	srv := startServer(t)
	for _, fail := range []int64{0, 100, pieceSize, 40000} {
		resp := rawDo(t, srv.Path(), "GET", fmt.Sprintf("/images/x/get?size=1MiB&fail_after=%d", fail), nil, nil)
		if resp.complete || int64(len(resp.body)) != fail || !errors.Is(resp.err, io.ErrUnexpectedEOF) {
			t.Errorf("fail_after=%d: complete %v, %d bytes, err %v; want false, %d, unexpected EOF",
				fail, resp.complete, len(resp.body), resp.err, fail)
		}
	}
}

func TestLogs(t *testing.T) {
	srv := startServer(t)
	for _, target := range []string{"/containers/c/logs?lines=4", "/containers/c/logs?follow=1&lines=4&every=1ms"} {
		resp := rawDo(t, srv.Path(), "GET", target, nil, nil)
		wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{"Transfer-Encoding": "chunked", "Content-Type": ""})
		fs := frames(t, resp.body)
		want := []frame{{1, "log line 0 on stdout\n"}, {2, "log line 1 on stderr\n"},
			{1, "log line 2 on stdout\n"}, {2, "log line 3 on stderr\n"}}
		if !slices.Equal(fs, want) || len(resp.chunks) != 4 {
			t.Errorf("%s: frames %q in %d chunks; want %q, one per chunk", target, fs, len(resp.chunks), want)
		}
	}
	if fs := frames(t, rawDo(t, srv.Path(), "GET", "/containers/c/logs", nil, nil).body); len(fs) != 10 {
		t.Errorf("default: %d frames; want 10", len(fs))
	}
	resp := rawDo(t, srv.Path(), "GET", "/containers/c/logs?lines=4&fail_after=30", nil, nil)
	if resp.complete || len(resp.body) != 30 {
		t.Errorf("fail_after=30: complete %v, %d bytes; want false, 30", resp.complete, len(resp.body))
	}
}

// A follow stream without lines lasts until the client leaves; the head
// comes before the first line.
func TestLogsFollowUntilClientLeaves(t *testing.T) {
	srv := startServer(t)
	rc := dialRaw(t, srv.Path())
	rc.send("GET", "/containers/c/logs?follow=1&every=1ms", nil, nil)
	rc.head()
	for range 3 {
		if _, err := readChunk(rc); err != nil {
			t.Fatal(err)
		}
	}
	rc.c.Close() // Server.Close waits for the handler: a stuck one hangs the test
}

// readChunk reads one chunk of a chunked body.
func readChunk(rc *rawConn) ([]byte, error) {
	var n int
	if _, err := fmt.Fscanf(rc.br, "%x\r\n", &n); err != nil {
		return nil, fmt.Errorf("chunk size: %w", err)
	}
	p := make([]byte, n+2)
	if _, err := io.ReadFull(rc.br, p); err != nil {
		return nil, fmt.Errorf("chunk: %w", err)
	}
	return p[:n], nil
}

// dockerEvent is the shape of a Docker event.
type dockerEvent struct {
	Status       string `json:"status"`
	ID           string `json:"id"`
	From         string `json:"from"`
	Type, Action string
	Actor        struct {
		ID         string
		Attributes map[string]string
	}
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

func TestEvents(t *testing.T) {
	srv := startServer(t)
	before := time.Now().UnixNano()
	resp := rawDo(t, srv.Path(), "GET", "/events?count=5&every=1ms", nil, nil)
	after := time.Now().UnixNano()
	wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
	if len(resp.chunks) != 5 {
		t.Fatalf("%d chunks; want 5", len(resp.chunks))
	}
	lines := strings.SplitAfter(string(resp.body), "\n")
	lines = lines[:len(lines)-1]
	var last int64
	for i, line := range lines {
		if len(line) != resp.chunks[i] {
			t.Errorf("event %d: line of %d bytes in a chunk of %d", i, len(line), resp.chunks[i])
		}
		var ev dockerEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Type != "container" || ev.Action == "" || len(ev.Actor.ID) != 64 || ev.Scope != "local" ||
			ev.Actor.Attributes["name"] == "" {
			t.Errorf("event %d: %+v is not a container event", i, ev)
		}
		if ev.TimeNano < before || ev.TimeNano > after || ev.TimeNano < last || ev.Time != ev.TimeNano/1e9 {
			t.Errorf("event %d: timeNano %d, time %d outside [%d, %d] or before %d", i, ev.TimeNano, ev.Time, before, after, last)
		}
		last = ev.TimeNano
	}
}

// Without count, the stream lasts until the client leaves; the head comes
// at once even when the first event would be an hour away.
func TestEventsUntilClientLeaves(t *testing.T) {
	srv := startServer(t)
	rc := dialRaw(t, srv.Path())
	rc.send("GET", "/events?every=1h", nil, nil)
	wantHead(t, rc.head(), "HTTP/1.1 200 OK", map[string]string{"Transfer-Encoding": "chunked"})
	if _, err := readChunk(rc); err != nil { // the first event is sent at once
		t.Fatal(err)
	}
	rc.c.Close()
}

func TestWait(t *testing.T) {
	srv := startServer(t)
	resp := rawDo(t, srv.Path(), "POST", "/v1.41/containers/c/wait?condition=next-exit", nil, nil)
	wantHead(t, resp, "HTTP/1.1 200 OK", map[string]string{"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
	if string(resp.body) != `{"Error":null,"StatusCode":0}`+"\n" {
		t.Errorf("body %q", resp.body)
	}
	// The head comes at once, the body after the delay: the hour-long
	// wait still answers its head, and Server.Close ends it.
	rc := dialRaw(t, srv.Path())
	rc.send("POST", "/containers/c/wait?delay=1h", nil, nil)
	wantHead(t, rc.head(), "HTTP/1.1 200 OK", map[string]string{"Transfer-Encoding": "chunked"})
}

func TestDelay(t *testing.T) {
	srv := startServer(t)
	resp := rawDo(t, srv.Path(), "GET", "/version?delay=1ms", nil, nil)
	if resp.status != "HTTP/1.1 200 OK" {
		t.Errorf("status %q", resp.status)
	}
	// An hour-long delay is ended by the client leaving or by Close.
	rc := dialRaw(t, srv.Path())
	rc.send("GET", "/_ping?delay=1h", nil, nil)
}

func TestSlowPing(t *testing.T) {
	srv := startServer(t)
	const q = "/_ping?slow_every=2&slow=1h"
	if resp := rawDo(t, srv.Path(), "GET", q, nil, nil); string(resp.body) != "OK" {
		t.Fatalf("1st: %q", resp.body)
	}
	slow := dialRaw(t, srv.Path())
	slow.send("GET", q, nil, nil) // the 2nd sleeps an hour
	// Wait until the server has counted the 2nd, then the 3rd answers.
	h := srv.srv.Handler.(*handler)
	for deadline := time.Now().Add(10 * time.Second); h.pings.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the 2nd ping never reached the handler")
		}
		time.Sleep(time.Millisecond)
	}
	if resp := rawDo(t, srv.Path(), "GET", q, nil, nil); string(resp.body) != "OK" {
		t.Fatalf("3rd: %q", resp.body)
	}
	slow.c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := slow.br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the 2nd ping answered (%d bytes, %v) before its hour", n, err)
	}
}

func TestLoad(t *testing.T) {
	srv := startServer(t)
	body := must(io.ReadAll(Content(3<<20 + 1)))
	resp := rawDo(t, srv.Path(), "POST", "/v1.41/images/load", []string{"Content-Type: application/x-tar"}, body)
	sum := ContentSHA256(3<<20 + 1)
	if want := fmt.Sprintf(`{"sha256":"%x"}`+"\n", sum); string(resp.body) != want {
		t.Errorf("body %q; want %q", resp.body, want)
	}
	// A chunked request body, through net/http's client.
	c := http.Client{Transport: &http.Transport{DialContext: unixDialer(srv.Path())}}
	defer c.CloseIdleConnections()
	r, err := c.Post("http://docker/images/load", "application/x-tar", struct{ io.Reader }{Content(100000)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var v struct{ Sha256 string }
	json.NewDecoder(r.Body).Decode(&v)
	if sum := ContentSHA256(100000); v.Sha256 != fmt.Sprintf("%x", sum) {
		t.Errorf("chunked upload: sha256 %s; want %x", v.Sha256, sum)
	}
}

// With check=content the body is compared with Content rather than hashed:
// the answer is the same, and a body that differs or has another length
// than size= is a 400 naming where.
func TestLoadCheck(t *testing.T) {
	srv := startServer(t)
	const n = 2<<20 + 7
	good := must(io.ReadAll(Content(n)))
	wantBody := fmt.Sprintf(`{"sha256":"%x"}`+"\n", ContentSHA256(n))
	resp := rawDo(t, srv.Path(), "POST", "/images/load?check=content&size="+strconv.Itoa(n), nil, good)
	if string(resp.body) != wantBody {
		t.Errorf("check=content: body %q; want %q", resp.body, wantBody)
	}
	bad := slices.Clone(good)
	bad[1<<20+3] ^= 1
	resp = rawDo(t, srv.Path(), "POST", "/images/load?check=content", nil, bad)
	wantHead(t, resp, "HTTP/1.1 400 Bad Request", nil)
	if want := "at byte 1048579"; !strings.Contains(string(resp.body), want) {
		t.Errorf("a changed byte: body %q; want it to name %q", resp.body, want)
	}
	resp = rawDo(t, srv.Path(), "POST", "/images/load?check=content&size=1MiB", nil, good)
	wantHead(t, resp, "HTTP/1.1 400 Bad Request", nil)
	if want := fmt.Sprintf("body has %d bytes; want 1048576", n); !strings.Contains(string(resp.body), want) {
		t.Errorf("a long body: body %q; want it to say %q", resp.body, want)
	}
	resp = rawDo(t, srv.Path(), "POST", "/images/load?check=sha", nil, good[:10])
	wantHead(t, resp, "HTTP/1.1 400 Bad Request", nil)

	// A chunked upload to docker cp's endpoint, through net/http's client.
	c := http.Client{Transport: &http.Transport{DialContext: unixDialer(srv.Path())}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest("PUT", "http://docker/v1.41/containers/x/archive?path=/tmp&check=content&size=100000", struct{ io.Reader }{Content(100000)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || len(b) != 0 || r.Header.Get("Api-Version") != APIVersion {
		t.Errorf("PUT archive: %s, Api-Version %q, body %q; want 200, %s, empty", r.Status, r.Header.Get("Api-Version"), b, APIVersion)
	}
}

func unixDialer(path string) func(ctx context.Context, _, _ string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

func TestCreateStartExec(t *testing.T) {
	srv := startServer(t)
	resp := rawDo(t, srv.Path(), "POST", "/containers/create", []string{"Content-Type: application/json"}, []byte(`{"Image":"x"}`))
	wantHead(t, resp, "HTTP/1.1 201 Created", nil)
	resp = rawDo(t, srv.Path(), "POST", "/containers/x/start", nil, nil)
	wantHead(t, resp, "HTTP/1.1 204 No Content", nil)
	resp = rawDo(t, srv.Path(), "POST", "/containers/x/exec", nil, []byte(`{}`))
	wantHead(t, resp, "HTTP/1.1 201 Created", nil)
}

// NewHandler works in any server, here httptest's over TCP loopback.
func TestNewHandler(t *testing.T) {
	ts := httptest.NewServer(NewHandler())
	defer ts.Close()
	r, err := ts.Client().Get(ts.URL + "/v1.41/_lab/blob?size=100000")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	h := sha256.New()
	io.Copy(h, r.Body)
	if got := [32]byte(h.Sum(nil)); got != ContentSHA256(100000) {
		t.Errorf("sha256 %x; want %x", got, ContentSHA256(100000))
	}
}
