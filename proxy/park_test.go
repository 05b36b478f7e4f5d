package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// These tests drive a stream through its parking (see park.go) step by
// step: the upstream says nothing until the test has seen the proxy hijack
// the client connection (http.StateHijacked), so that every stream below
// is parked, with ParkIdle 1ns, at the same point each run.

// parkUpstream is an upstream whose /stream sends its header, then one
// event when next is signalled, then ends (with a trailer) when end is
// signalled, or fails abruptly if abort is set. left is signalled when
// the proxy closes the upstream connection during the stream.
type parkUpstream struct {
	next, end chan struct{}
	left      chan struct{}
	abort     bool
}

func newParkUpstream() *parkUpstream {
	return &parkUpstream{next: make(chan struct{}), end: make(chan struct{}), left: make(chan struct{}, 1)}
}

func (u *parkUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/stream" {
		io.WriteString(w, "OK")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Trailer", "X-Done")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	for i, ch := range []chan struct{}{u.next, u.end} {
		select {
		case <-ch:
		case <-r.Context().Done():
			u.left <- struct{}{}
			return
		}
		if i == 0 {
			io.WriteString(w, "event-1\n")
			w.(http.Flusher).Flush()
		}
	}
	if u.abort {
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("X-Done", "yes")
}

// parkFront is a proxy over the raw transport whose server reports its
// connections' states.
type parkFront struct {
	*frontEnd
	hijacked chan struct{}
	mu       sync.Mutex
	news     map[string]int // StateNew per client address: 2 means handed back
}

// startParkFront serves the proxy of s (a setup that parks) in front of
// socket, parking after park.
func startParkFront(t *testing.T, s Setup, socket string, park time.Duration, opts ...frontOption) *parkFront {
	t.Helper()
	f := &parkFront{hijacked: make(chan struct{}, 4), news: map[string]int{}}
	if s.Mode == ModeLean {
		// No http.Server, no hijack: the Observer tells of each parking.
		f.frontEnd = startFront(t, s, socket, append(opts, withParkIdle(park), withObserver(parkSignal(f.hijacked)))...)
		return f
	}
	f.frontEnd = startFront(t, s, socket, append(opts, withParkIdle(park), withConnState(func(c net.Conn, state http.ConnState) {
		switch state {
		case http.StateHijacked:
			f.hijacked <- struct{}{}
		case http.StateNew:
			f.mu.Lock()
			f.news[c.RemoteAddr().String()]++
			f.mu.Unlock()
		}
	}))...)
	return f
}

// parkSignal is an Observer that signals each parking on its channel
// (without waiting: a lean stream parks again at each idle moment).
type parkSignal chan struct{}

func (parkSignal) Observe(Outcome) {}

func (c parkSignal) Stream(k StreamKind, delta int) {
	if k == StreamParked && delta > 0 {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// servedTimes reports how many times the server took c as a new
// connection.
func (f *parkFront) servedTimes(c net.Conn) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.news[c.LocalAddr().String()]
}

// openStream sends GET /stream on c and returns the response, header
// read, once the proxy has parked the stream.
func openParked(t *testing.T, f *parkFront, c net.Conn, br *bufio.Reader) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: docker\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
		t.Fatalf("stream: %s, Transfer-Encoding %q", res.Status, res.TransferEncoding)
	}
	if _, err := testsock.WaitFor(f.hijacked, "the proxy to park the stream"); err != nil {
		t.Fatal(err)
	}
	return res
}

// parkedStreamTo serves up through a proxy in mode over the raw transport
// that parks at the first silence, and opens /stream on a new connection
// (see openParked).
func parkedStreamTo(t *testing.T, s Setup, up *parkUpstream) (*parkFront, net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	f := startParkFront(t, s, startUpstream(t, up), time.Nanosecond)
	c := f.dial(t)
	br := bufio.NewReader(c)
	return f, c, br, openParked(t, f, c, br)
}

// pingRequest is the request pingOn and the pipelining test send behind a
// stream.
const pingRequest = "GET /ping HTTP/1.1\r\nHost: docker\r\n\r\n"

// pingOn sends pingRequest on c and checks its answer (see expectPing).
func pingOn(t *testing.T, c net.Conn, br *bufio.Reader, what string) {
	t.Helper()
	io.WriteString(c, pingRequest)
	expectPing(t, br, what)
}

// expectPing checks that the next response on br is the upstream's answer
// to pingRequest; what names the case.
func expectPing(t *testing.T, br *bufio.Reader, what string) {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(body) != "OK" {
		t.Fatalf("%s: %s %q", what, res.Status, body)
	}
}

// TestParkedStream: a parked stream relays what comes after it was
// parked, ends with its trailer, and its connection goes back to the
// server, which answers the next request on it.
func TestParkedStream(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := newParkUpstream()
		f, c, br, res := parkedStreamTo(t, s, up)

		close(up.next)
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil || line != "event-1\n" {
			t.Fatalf("first event after parking: %q, %v", line, err)
		}
		close(up.end)
		if rest, err := io.ReadAll(res.Body); err != nil || len(rest) != 0 {
			t.Fatalf("end of the parked stream: %q, %v", rest, err)
		}
		if got := res.Trailer.Get("X-Done"); got != "yes" {
			t.Errorf("trailer X-Done = %q, want yes", got)
		}

		// Keep-alive: the next request on the same connection.
		pingOn(t, c, br, "request after the parked stream, same connection")
		if s.Mode == ModeLean {
			return // the lean front end keeps its connections: no hand-back to count
		}
		if n := f.servedTimes(c); n != 2 {
			t.Errorf("server took the connection %d times, want 2 (accepted, handed back)", n)
		}
	}, parking)
}

// TestParkedPipelined: a request the client sends behind a parked stream
// (pipelined, before the stream ends) is left on the connection and
// served once the stream has ended and the connection is back with the
// server.
func TestParkedPipelined(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := newParkUpstream()
		_, c, br, res := parkedStreamTo(t, s, up)
		io.WriteString(c, pingRequest)
		close(up.next)
		close(up.end)
		if body, err := io.ReadAll(res.Body); err != nil || string(body) != "event-1\n" {
			t.Fatalf("parked stream: %q, %v", body, err)
		}
		expectPing(t, br, "pipelined request")
	}, parking)
}

// TestParkedClientLeaves: a client that leaves a parked stream makes the
// proxy close the upstream connection, and the log blames the client.
func TestParkedClientLeaves(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := newParkUpstream()
		f, c, _, _ := parkedStreamTo(t, s, up)
		c.Close()
		if _, err := testsock.WaitFor(up.left, "the upstream connection to close after the client left"); err != nil {
			t.Fatal(err)
		}
		if !f.log.waitFor("client failed during body") {
			t.Errorf("proxy log %q; want a line blaming the client", f.log.String())
		}
	}, parking)
}

// TestParkedUpstreamDies: an upstream that dies during a parked stream
// makes the client see a truncated body, never a clean end, and the
// connection is closed.
func TestParkedUpstreamDies(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := newParkUpstream()
		up.abort = true
		f, _, br, res := parkedStreamTo(t, s, up)
		close(up.next)
		close(up.end)
		body, err := io.ReadAll(res.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("body of a stream whose upstream died: %q, err %v; want io.ErrUnexpectedEOF", body, err)
		}
		if string(body) != "event-1\n" {
			t.Errorf("body before the failure: %q", body)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Error("the connection stayed open after a failed parked stream")
		}
		if !f.log.waitFor("upstream failed during body") {
			t.Errorf("proxy log %q; want a line blaming the upstream", f.log.String())
		}
	}, parking)
}

// TestParkedStreamTLS: over TLS the client cannot be watched without
// reading it; the stream still relays and ends, and the connection is
// closed after it.
func TestParkedStreamTLS(t *testing.T) {
	up := newParkUpstream()
	f := startParkFront(t, Setup{Mode: "pooled", Transport: TransportRaw}, startUpstream(t, up), time.Nanosecond, withTLS())
	tc := f.dial(t)
	c := tls.Client(tc, &tls.Config{InsecureSkipVerify: true})
	br := bufio.NewReader(c)
	res := openParked(t, f, c, br)
	close(up.next)
	close(up.end)
	body, err := io.ReadAll(res.Body)
	if err != nil || string(body) != "event-1\n" || res.Trailer.Get("X-Done") != "yes" {
		t.Fatalf("parked stream over TLS: %q, %v, trailer %v", body, err, res.Trailer)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("the TLS connection stayed open after its parked stream")
	}
}

// TestParkIdleOff: with a negative ParkIdle, or one the stream never
// reaches, nothing is hijacked and the stream is relayed by its handler.
func TestParkIdleOff(t *testing.T) {
	for _, park := range []time.Duration{-1, time.Hour} {
		t.Run("park="+park.String(), func(t *testing.T) {
			forEachSetup(t, func(t *testing.T, s Setup) {
				up := newParkUpstream()
				f := startParkFront(t, s, startUpstream(t, up), park)
				c := f.dial(t)
				io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: docker\r\n\r\n")
				br := bufio.NewReader(c)
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				close(up.next)
				close(up.end)
				body, err := io.ReadAll(res.Body)
				if err != nil || string(body) != "event-1\n" || res.Trailer.Get("X-Done") != "yes" {
					t.Fatalf("stream: %q, %v, trailer %v", body, err, res.Trailer)
				}
				select {
				case <-f.hijacked:
					t.Error("the stream was parked")
				default:
				}
			}, parking)
		})
	}
}

// TestParkNotWithRequestBody: a stream answering a request with a body
// is never parked (after a hijack the request body is gone; the lean
// front end parks nothing of the client's in flight).
func TestParkNotWithRequestBody(t *testing.T) {
	for _, s := range []Setup{{Mode: "pooled", Transport: TransportRaw}, {Mode: ModeLean, Transport: TransportRaw}} {
		t.Run(s.String(), func(t *testing.T) {
			up := newParkUpstream()
			f := startParkFront(t, s, startUpstream(t, up), time.Nanosecond)
			c := f.dial(t)
			io.WriteString(c, "POST /stream HTTP/1.1\r\nHost: docker\r\nContent-Length: 2\r\n\r\n{}")
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			close(up.next)
			close(up.end)
			if body, err := io.ReadAll(res.Body); err != nil || string(body) != "event-1\n" {
				t.Fatalf("stream: %q, %v", body, err)
			}
			select {
			case <-f.hijacked:
				t.Error("a stream answering a request with a body was parked")
			default:
			}
		})
	}
}

// TestLeanParkedShutdown: the lean front end's Shutdown waits for a
// parked stream (it counts as an exchange in flight) and closes its
// connection after its end; when the wait runs out, the parked stream is
// closed, upstream side included, and the client sees a truncated body.
func TestLeanParkedShutdown(t *testing.T) {
	lean := Setup{Mode: ModeLean, Transport: TransportRaw}
	t.Run("graceful", func(t *testing.T) {
		up := newParkUpstream()
		f, _, br, res := parkedStreamTo(t, lean, up)
		done := make(chan error, 1)
		go func() { done <- f.proxy.Shutdown(context.Background()) }()
		close(up.next)
		close(up.end)
		body, err := io.ReadAll(res.Body)
		if err != nil || string(body) != "event-1\n" || res.Trailer.Get("X-Done") != "yes" {
			t.Fatalf("stream during Shutdown: %q, %v, trailer %v", body, err, res.Trailer)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Error("the connection stayed open after its stream, during Shutdown")
		}
		if err, werr := testsock.WaitFor(done, "Shutdown to return"); werr != nil || err != nil {
			t.Fatalf("Shutdown: %v (%v)", err, werr)
		}
	})
	t.Run("forced", func(t *testing.T) {
		up := newParkUpstream()
		f, _, br, res := parkedStreamTo(t, lean, up)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := f.proxy.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown with a parked stream and no time: %v; want context.Canceled", err)
		}
		if _, err := testsock.WaitFor(up.left, "the upstream connection to close"); err != nil {
			t.Fatal(err)
		}
		if body, err := io.ReadAll(res.Body); err == nil {
			t.Errorf("stream closed by Shutdown: %q with a clean end; want a truncated body", body)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Error("the connection stayed open after a forced Shutdown")
		}
	})
}

// TestLeanParkedHoldsNoGoroutine: parked lean streams are waited for by
// the server's poller alone: once they have parked, no goroutine of the
// front end is left in a connection (the upstream's own goroutines are the
// test server's), and each stream still relays and ends when its upstream
// speaks.
func TestLeanParkedHoldsNoGoroutine(t *testing.T) {
	const streams = 3 // within parkFront's signal buffer
	up := newParkUpstream()
	f := startParkFront(t, Setup{Mode: ModeLean, Transport: TransportRaw}, startUpstream(t, up), time.Nanosecond)
	var bodies []*http.Response
	for range streams {
		c := f.dial(t)
		bodies = append(bodies, openParked(t, f, c, bufio.NewReader(c)))
	}
	// A parking signals before its goroutine's last act: wait for them to
	// end.
	deadline := time.Now().Add(testDeadline)
	for n := leanConnGoroutines(); n > 0; n = leanConnGoroutines() {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still in a lean connection after %d streams parked", n, streams)
		}
		runtime.Gosched()
	}
	close(up.next)
	close(up.end)
	for i, res := range bodies {
		body, err := io.ReadAll(res.Body)
		if err != nil || string(body) != "event-1\n" || res.Trailer.Get("X-Done") != "yes" {
			t.Fatalf("stream %d after its parking: %q, %v, trailer %v", i, body, err, res.Trailer)
		}
	}
}

// leanConnGoroutines counts the goroutines running a lean connection's
// code.
func leanConnGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("proxy.(*leanConn)")) {
			n++
		}
	}
	return n
}
