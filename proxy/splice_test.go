package proxy

import (
	"crypto/sha256"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/internal/upstream"
)

// spliceModes are the strategies that splice.
var spliceModes = []string{bodycopy.Splice.Name(), bodycopy.SpliceChunked.Name()}

// splicing keeps the setups of the strategies that splice.
var splicing = setupOption{keep: func(s Setup) bool { return slices.Contains(spliceModes, s.Mode) }}

// TestSplicePaths sends a Content-Length body, a bulk chunked body and an
// upgraded stream through each splice strategy and transport, checks the
// bytes and framing, and checks which paths spliced and which fell back.
// It runs its cases one after another: the counts are process-wide.
func TestSplicePaths(t *testing.T) {
	const size = 1 << 20
	want := upstream.ContentSHA256(size)
	forEachSetup(t, func(t *testing.T, s Setup) {
		mode, transport := s.Mode, s.Transport
		path := testsock.Path(t, "sim.sock")
		startSim(t, path)
		f, c := startFront(t, s, path), simClient(t)
		raw := transport == TransportRaw
		all := mode == bodycopy.Splice.Name() // SpliceChunked splices chunked bodies only

		before := bodycopy.ReadSpliceCounts()
		for _, url := range []string{"/_lab/blob?size=1MiB", "/images/x/get?size=1MiB"} {
			res, err := c.Get(f.URL + url)
			if err != nil {
				t.Fatalf("GET %s: %v", url, err)
			}
			h := sha256.New()
			n, err := io.Copy(h, res.Body)
			res.Body.Close()
			if err != nil || n != size || [32]byte(h.Sum(nil)) != want {
				t.Errorf("GET %s: read %d bytes, %v, sha256 %x; want %d, nil, %x", url, n, err, h.Sum(nil), size, want)
			}
			if strings.HasPrefix(url, "/images") {
				closeDelim := len(res.TransferEncoding) == 0 && res.ContentLength == -1 && res.Close
				if closeDelim != raw {
					t.Errorf("GET %s: Transfer-Encoding %q, Close %v; want close-delimited %v", url, res.TransferEncoding, res.Close, raw)
				}
			}
		}
		// A chunked JSON answer (a small stream, not a bulk body):
		// copied as pooled, counted neither way.
		if code, body, err := getBody(c, f.URL+"/containers/json?n=100"); err != nil || code != 200 || len(body) <= 2048 {
			t.Errorf("GET /containers/json?n=100: %d, %d bytes, %v; want 200 and a chunked body", code, len(body), err)
		}
		attachEcho(t, f)
		got := bodycopy.ReadSpliceCounts().Sub(before)

		// A path the strategy splices counts each copy as spliced
		// (raw transport) or fallen back (Go's transport); a path
		// it leaves to Pooled counts nothing.
		pc := func(splices bool, n uint64) bodycopy.PathCounts {
			switch {
			case !splices:
				return bodycopy.PathCounts{}
			case raw:
				return bodycopy.PathCounts{Spliced: n}
			}
			return bodycopy.PathCounts{Fallbacks: n}
		}
		wantCounts := bodycopy.SpliceCounts{
			Sized:  pc(all, 1),
			Spans:  pc(true, 1),
			Stream: pc(all, 2),
		}
		if got != wantCounts {
			t.Errorf("splice counts went up by %+v; want %+v", got, wantCounts)
		}
	}, splicing, inTurn)
}

// attachEcho attaches through f, echoes one line and half-closes.
func attachEcho(t *testing.T, f *frontEnd) {
	t.Helper()
	ac, abr := attachPing(t, f)
	if err := ac.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, abr); err != nil {
		t.Errorf("attach stream after half-close: %v; want a clean end", err)
	}
}

// TestSpliceKeepsUpstreamConn checks that a spliced Content-Length body
// leaves its upstream connection reusable: three bodies, one connection.
func TestSpliceKeepsUpstreamConn(t *testing.T) {
	const size = 256 << 10
	var conns connCounter
	dialed := make(chan struct{}, 16)
	path := testsock.Path(t, "up.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "262144")
			io.Copy(w, upstream.Content(size))
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				dialed <- struct{}{}
			}
			conns.track(c, s)
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		up.Serve(ln)
	}()
	defer func() {
		up.Close()
		<-served
	}()
	for _, mode := range spliceModes {
		f, c := startFront(t, Setup{Mode: mode, Transport: TransportRaw}, path), simClient(t)
		for range 3 {
			code, body, err := getBody(c, f.URL+"/_lab/blob")
			if err != nil || code != 200 || len(body) != size {
				t.Fatalf("mode %s: GET: %d, %d bytes, %v; want 200, %d bytes", mode, code, len(body), err, size)
			}
		}
		if n := len(dialed); n != 1 {
			t.Errorf("mode %s: upstream saw %d connections for 3 sequential requests; want 1", mode, n)
		}
		for len(dialed) > 0 {
			<-dialed
		}
	}
}

// TestSpliceChunkedAbort has the upstream die in the middle of a chunked
// image save answered close-delimited: the client must see a reset, not a
// clean end of a short body, and the proxy must serve the next request.
func TestSpliceChunkedAbort(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			io.WriteString(w, "OK")
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"10000\r\n"+strings.Repeat("x", 65536)+"\r\n8000\r\n"+strings.Repeat("y", 1000))
		conn.Close()
	}))
	f, c := startFront(t, Setup{Mode: bodycopy.SpliceChunked.Name(), Transport: TransportRaw}, up), simClient(t)
	res, err := c.Get(f.URL + "/images/x/get")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if len(res.TransferEncoding) != 0 || !res.Close {
		t.Errorf("Transfer-Encoding %q, Close %v; want close-delimited", res.TransferEncoding, res.Close)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read %d bytes, then %v; want a connection reset", n, err)
	}
	if code, body, err := getBody(c, f.URL+"/_ping"); err != nil || code != 200 || body != "OK" {
		t.Errorf("next request: %d %q, %v; want 200 OK", code, body, err)
	}
	if !strings.Contains(f.log.String(), "upstream") {
		t.Errorf("proxy log %q; want a line blaming the upstream", f.log.String())
	}
}
