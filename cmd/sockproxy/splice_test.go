package main

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// TestSpliceChunkedAbortResets checks the close-delimited image save of
// -strategy splice-chunked through the command's own listener (whose
// connections are wrapped): an upstream that dies mid-body must reach the
// client as a connection reset, not a clean end. At shutdown the command
// logs its splice counts.
func TestSpliceChunkedAbortResets(t *testing.T) {
	path := testsock.Path(t, "up.sock")
	serveUnix(t, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"10000\r\n"+strings.Repeat("x", 65536)+"\r\n8000\r\n"+strings.Repeat("y", 1000))
		conn.Close()
	}))
	in := start(t, "-socket", path, "-strategy", "splice-chunked", "-transport", "raw")
	res, err := newClient(t).Get("http://" + in.addr + "/images/x/get")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if len(res.TransferEncoding) != 0 || !res.Close {
		t.Errorf("Transfer-Encoding %q, Close %v; want close-delimited", res.TransferEncoding, res.Close)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read %d bytes, then %v; want a connection reset", n, err)
	}
	in.stop()
	if code := in.waitExit(t); code != 0 {
		t.Errorf("exit status %d; want 0", code)
	}
	// The counts are the process's: other tests may have added to them.
	if want := regexp.MustCompile(`splice counts: .*chunked [1-9][0-9]* spliced`); !want.MatchString(in.stderr.String()) {
		t.Errorf("stderr does not match %q:\n%s", want, in.stderr.String())
	}
}

// TestDefaults checks the defaults the results chose: strategy
// lean over the raw transport, and Go's transport for the modes
// that run Go's own proxy.
func TestDefaults(t *testing.T) {
	path := testsock.Path(t, "up.sock")
	serveUnix(t, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") }))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "strategy lean, transport raw"},
		{[]string{"-strategy", "pooled"}, "strategy pooled, transport raw"},
		{[]string{"-strategy", "stdlib"}, "strategy stdlib, transport std"},
		{[]string{"-strategy", "stdlib-default"}, "strategy stdlib-default, transport std"},
		{[]string{"-strategy", "pooled", "-transport", "std"}, "strategy pooled, transport std"},
	} {
		in := start(t, append([]string{"-socket", path}, tc.args...)...)
		if code, body := get(t, newClient(t), "http://"+in.addr+"/_ping"); code != 200 || body != "OK" {
			t.Errorf("%q: GET /_ping: %d %q; want 200 OK", tc.args, code, body)
		}
		if !strings.Contains(in.stderr.String(), tc.want) {
			t.Errorf("%q: log lacks %q:\n%s", tc.args, tc.want, in.stderr.String())
		}
	}
}
