package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/proxy"
)

// countingUpstream serves "OK" on a fresh socket and counts the requests
// it gets.
func countingUpstream(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	sock := testsock.Path(t, "up.sock")
	serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, "OK")
	}))
	return sock, &n
}

// trickle writes a request header one byte at a time, a byte every
// 20 ms, until the header is done, the connection fails or stop is
// closed. The header is long enough that trickling it whole takes far
// longer than the test deadline.
func trickle(c net.Conn, stop <-chan struct{}) {
	header := "GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Slow: " + strings.Repeat("a", 4096) + "\r\n\r\n"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(header); i++ {
		if _, err := c.Write([]byte{header[i]}); err != nil {
			return
		}
		select {
		case <-tick.C:
		case <-stop:
			return
		}
	}
}

// waitClosed reads c until the server closes it and returns what was
// read, or an error at the test deadline.
func waitClosed(c net.Conn) (string, error) {
	c.SetReadDeadline(time.Now().Add(testDeadline))
	out, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(out), errors.New("connection still open at the test deadline")
	}
	return string(out), nil
}

// TestSlowlorisHeaderTimeout trickles a request header a byte at a time:
// -read-header-timeout closes the connection although bytes keep coming,
// the upstream never sees the request, and other clients are served.
func TestSlowlorisHeaderTimeout(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s proxy.Setup) {
		t.Parallel()
		sock, n := countingUpstream(t)
		in := start(t, "-socket", sock, "-strategy", s.Mode, "-transport", s.Transport, "-read-header-timeout", "200ms")
		c, err := net.Dial("tcp", in.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			trickle(c, stop)
		}()
		out, err := waitClosed(c)
		close(stop)
		<-done
		if err != nil {
			t.Fatalf("trickling client: %v", err)
		}
		// net/http answers a header cut short by its deadline with 400.
		if out != "" && !strings.HasPrefix(out, "HTTP/1.1 400 ") && !strings.HasPrefix(out, "HTTP/1.1 408 ") {
			t.Errorf("trickling client got %q; want nothing, 400 or 408", out)
		}
		if got := n.Load(); got != 0 {
			t.Errorf("upstream got %d requests; want 0", got)
		}
		if code, body := get(t, newClient(t), "http://"+in.addr+"/_ping"); code != 200 || body != "OK" {
			t.Errorf("other client: got %d %q; want 200 OK", code, body)
		}
	})
}

// TestSlowlorisMaxConns fills -max-conns with clients that never finish
// their header. Another client gets a clear 503 while they hold the
// slots; once -read-header-timeout has closed them, clients are served
// again.
func TestSlowlorisMaxConns(t *testing.T) {
	sock, n := countingUpstream(t)
	in := start(t, "-socket", sock, "-read-header-timeout", "500ms", "-max-conns", "2")
	var slow []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", in.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /_ping HTTP/1.1\r\nHo")
		slow = append(slow, c)
	}
	// The listener takes a slot when it accepts; wait until both are
	// taken, seen as a third client being refused.
	var refused string
	waitUntil(t, "a third client to be refused with 503", func() bool {
		c, err := net.Dial("tcp", in.addr)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testDeadline))
		io.WriteString(c, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusServiceUnavailable {
			return false
		}
		refused = string(body)
		return true
	})
	if !strings.Contains(refused, "too many connections") || !strings.Contains(refused, "-max-conns 2") {
		t.Errorf("503 body %q; want it to name the cap", refused)
	}
	for _, c := range slow {
		if _, err := waitClosed(c); err != nil {
			t.Errorf("slow client: %v", err)
		}
	}
	c := newClient(t)
	waitUntil(t, "a client to be served once the slow ones were closed", func() bool {
		res, err := c.Get("http://" + in.addr + "/_ping")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode == 200
	})
	if got := n.Load(); got < 1 {
		t.Errorf("upstream got %d requests; want the served one", got)
	}
}

// TestShutdownGraceOver stops sockproxy while a response is in flight and
// outlasts -grace: the client sees an aborted body, never a complete one,
// new connections are refused, and sockproxy exits 0.
func TestShutdownGraceOver(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s proxy.Setup) {
		t.Parallel()
		sock := testsock.Path(t, "up.sock")
		serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// More than net/http buffers, so the header reaches the
			// client although the proxy does not flush a
			// Content-Length body.
			w.Header().Set("Content-Length", "1048576")
			io.WriteString(w, strings.Repeat("x", 128<<10))
			http.NewResponseController(w).Flush()
			<-r.Context().Done() // until the proxy gives up
		}))
		in := start(t, "-socket", sock, "-strategy", s.Mode, "-transport", s.Transport, "-grace", "100ms")
		c := newClient(t)
		res, err := c.Get("http://" + in.addr + "/_lab/blob")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		in.stop()
		body, err := io.ReadAll(res.Body)
		if err == nil {
			t.Errorf("in-flight body %q read to a clean end; want an aborted read", body)
		}
		if code := in.waitExit(t); code != 0 {
			t.Errorf("exit %d; want 0", code)
		}
		if conn, err := net.Dial("tcp", in.addr); err == nil {
			conn.Close()
			t.Errorf("a connection was accepted after shutdown; want it refused")
		}
	})
}
