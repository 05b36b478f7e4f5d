package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/testsock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testDeadline bounds every wait in these tests. Tests never sleep; they
// wait on a condition, and fail when it has not come by this deadline.
const testDeadline = 20 * time.Second

// forEachMode runs f as subtest mode=NAME/transport=T for every mode in
// Modes() and every transport in Transports() it accepts, in parallel.
// startProxy, given the t of such a subtest (or of one below it), uses its
// transport.
func forEachMode(t *testing.T, f func(t *testing.T, mode string)) {
	t.Helper()
	for _, mode := range Modes() {
		t.Run("mode="+mode, func(t *testing.T) {
			for _, tr := range Transports() {
				if tr == TransportRaw && mode == ModeStdlibDefault {
					continue // Go's default transport by definition
				}
				t.Run("transport="+tr, func(t *testing.T) {
					t.Parallel()
					f(t, mode)
				})
			}
		})
	}
}

// transportOf returns the transport named by the transport=T element of
// t's name, or "" (the default) when there is none.
func transportOf(t *testing.T) string {
	for elem := range strings.SplitSeq(t.Name(), "/") {
		if tr, ok := strings.CutPrefix(elem, "transport="); ok {
			return tr
		}
	}
	return ""
}

// closeDelimited reports whether the proxy of t's subtest answers a bulk
// chunked body close-delimited: a strategy that splices chunked bodies,
// over the raw transport (see splice.go).
func closeDelimited(t *testing.T, mode string) bool {
	s, err := bodycopy.Lookup(mode)
	if err != nil {
		return false
	}
	_, ok := s.(bodycopy.Splicer)
	return ok && transportOf(t) == TransportRaw
}

// knownDifferences lists, per mode, the cases where Go's own proxy is known
// to fail what ours passes. A listed case that fails is logged, not failed;
// every other failure fails the test.
var knownDifferences = map[string]map[string]string{
	ModeStdlib: stdlibDifferences,
	ModeStdlibDefault: withDifferences(stdlibDifferences, map[string]string{
		"pool/reuse": "Go's default transport keeps 2 idle connections per host, so with more " +
			"concurrent clients most requests close a connection and dial a new one",
	}),
}

func withDifferences(base, more map[string]string) map[string]string {
	m := maps.Clone(base)
	maps.Copy(m, more)
	return m
}

var stdlibDifferences = map[string]string{
	"upgrade/101-no-content-length": "httputil writes the 101 with http.Response.Write, which adds " +
		"Content-Length: 0 (RFC 9110 forbids it on 1xx; clients ignore it)",
	"upgrade/eager": "httputil copies the hijacked net.Conn, not its bufio.Reader, so client bytes " +
		"net/http buffered before the hijack are lost",
	"upgrade/no-stdin": "the client's half-close right after the 101, seen by net/http's background " +
		"read, cancels the request context, which makes httputil close the upstream",
	"request-body/answer-before-reading": "as request-body/answer-while-reading",
	"request-body/answer-while-reading": "httputil does not enable full duplex: when it writes the " +
		"response header, net/http's server discards the unread request body, so the upstream gets a " +
		"short body that looks complete",
	"request-body/early-refusal": "httputil does not enable full duplex: net/http's server holds the " +
		"response header while it discards the request body, waiting for a client that paused its upload",
	"http10/truncated-chunked": "httputil aborts with http.ErrAbortHandler, which closes cleanly: an " +
		"HTTP/1.0 client's close-delimited body looks complete",
	"http10/truncated-logs": "as http10/truncated-chunked",
	"http10/1xx":            "httputil relays 1xx responses to HTTP/1.0 clients, which RFC 9110 section 15.2 forbids",
}

// expect fails t with err unless the case is a known difference of mode.
func expect(t *testing.T, mode, name string, err error) {
	t.Helper()
	why, known := knownDifferences[mode][name]
	switch {
	case err != nil && known:
		t.Logf("known difference of mode %s, case %s: %v\n\twhy: %s", mode, name, err, why)
	case err != nil:
		t.Errorf("case %s: %v", name, err)
	case known:
		t.Logf("known difference of mode %s, case %s, did not show this time", mode, name)
	}
}

// logBuffer collects the proxy's log; it is printed when the test ends, so
// nothing logs through t after the test is over.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{} // closed at the next Write, for waitFor
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wrote != nil {
		close(b.wrote)
		b.wrote = nil
	}
	return b.buf.Write(p)
}

// waitFor waits until the log contains want, and reports false when it
// does not by the test deadline.
func (b *logBuffer) waitFor(want string) bool {
	timer := time.NewTimer(testDeadline)
	defer timer.Stop()
	for {
		b.mu.Lock()
		if strings.Contains(b.buf.String(), want) {
			b.mu.Unlock()
			return true
		}
		if b.wrote == nil {
			b.wrote = make(chan struct{})
		}
		wrote := b.wrote
		b.mu.Unlock()
		select {
		case <-wrote:
		case <-timer.C:
			return false
		}
	}
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startUpstream serves h on a fresh Unix socket and returns its path.
func startUpstream(t *testing.T, h http.Handler) string {
	t.Helper()
	path := testsock.Path(t, "up.sock")
	serveUnix(t, path, h)
	return path
}

// serveUnix serves h on a Unix socket at path until the test ends.
func serveUnix(t *testing.T, path string, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen on upstream socket: %v", err)
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(&logBuffer{}, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// frontEnd is a proxy in mode serving on 127.0.0.1 and its log.
type frontEnd struct {
	*httptest.Server
	log *logBuffer
}

// testParkIdle makes every test's raw-transport stream park the first
// time it idles (an expired deadline: the wait gives up at once), so that
// every stream test covers a parked stream as well as the bytes relayed
// before it parked; park_test.go covers streams that never park.
const testParkIdle = time.Nanosecond

// startProxy serves New(Config{Socket: socket, Mode: mode}) on a TCP port
// of 127.0.0.1, with the transport named in t's name (see forEachMode).
func startProxy(t *testing.T, mode, socket string) *frontEnd {
	t.Helper()
	lb := &logBuffer{}
	h, err := New(Config{Socket: socket, Mode: mode, Transport: transportOf(t), MaxConns: 16, ErrorLog: log.New(lb, "", 0),
		ParkIdle: testParkIdle})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return serveFront(t, h, lb, nil, false)
}

// serveFront serves the proxy h, whose log is lb, on a TCP port of
// 127.0.0.1 (with TLS when useTLS) until the test ends. connState, when
// not nil, is the server's ConnState hook.
func serveFront(t *testing.T, h http.Handler, lb *logBuffer, connState func(net.Conn, http.ConnState), useTLS bool) *frontEnd {
	t.Helper()
	h = observeForTest(h)
	ts := httptest.NewUnstartedServer(countRequests(h))
	ts.Config.ErrorLog = log.New(lb, "http: ", 0)
	ts.Config.ConnState = connState
	if useTLS {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(func() {
		waitParked(t, h)
		ts.Close()
		h.(interface{ CloseIdleConnections() }).CloseIdleConnections()
		if s := lb.String(); s != "" {
			t.Logf("proxy log:\n%s", s)
		}
	})
	return &frontEnd{ts, lb}
}

// countRequests returns h, counting each request in flight on the parked
// streams of h when it is a *ReverseProxy (see waitParked). A stream is
// parked while its request is counted, so the count never rises from zero
// while waitParked waits once the clients have left.
func countRequests(h http.Handler) http.Handler {
	p, ok := h.(*ReverseProxy)
	if !ok {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.parked.Add(1)
		defer p.parked.Done()
		p.ServeHTTP(w, r)
	})
}

// waitParked waits, up to the test deadline, until no request of h (a
// *ReverseProxy served through countRequests) is in flight and no parked
// stream runs: each has closed its connection or handed it back to the
// server. A test server must not be closed while a stream may still hand
// it a connection: httptest.Server would count that connection during its
// Close. The clients must have left first (their cleanups run before the
// server's).
func waitParked(t *testing.T, h http.Handler) {
	t.Helper()
	p, ok := h.(*ReverseProxy)
	if !ok {
		return
	}
	done := make(chan struct{})
	go func() {
		p.parked.Wait()
		close(done)
	}()
	if _, err := waitFor(done, "the requests and parked streams to end"); err != nil {
		t.Error(err)
	}
}

// dial opens a raw client connection to the front end, with the test
// deadline set on it.
func (f *frontEnd) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", f.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testDeadline))
	return c.(*net.TCPConn)
}

// waitFor waits for a value on ch until the test deadline.
func waitFor[T any](ch <-chan T, what string) (T, error) {
	timer := time.NewTimer(testDeadline)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v, nil
	case <-timer.C:
		var zero T
		return zero, errors.New("gave up waiting for " + what)
	}
}

// genReader yields n deterministic pseudo-random bytes (xorshift64*): no
// period a dropped or repeated block could hide in. Reads are multiples of
// 8 bytes except the last, so every generator of the same n yields the same
// bytes whatever the read sizes.
type genReader struct {
	n     int64
	state uint64
	rest  []byte // unread tail of the last word
	word  [8]byte
}

func newGen(n int64) *genReader { return &genReader{n: n, state: 0x9E3779B97F4A7C15} }

func (g *genReader) next() uint64 {
	g.state ^= g.state >> 12
	g.state ^= g.state << 25
	g.state ^= g.state >> 27
	return g.state * 2685821657736338717
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	for ; n+8 <= len(p); n += 8 {
		binary.LittleEndian.PutUint64(p[n:], g.next())
	}
	if n < len(p) {
		binary.LittleEndian.PutUint64(g.word[:], g.next())
		k := copy(p[n:], g.word[:])
		g.rest = g.word[k:]
		n += k
	}
	g.n -= int64(n)
	return n, nil
}

// genSHA256 is the sha256 of newGen(n)'s bytes.
func genSHA256(t *testing.T, n int64) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, newGen(n)); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
