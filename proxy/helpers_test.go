package proxy

import (
	"bytes"
	"context"
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
	"github.com/sockproxylab/sockproxy/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testDeadline bounds every wait in these tests. Tests never sleep; they
// wait on a condition, and fail when it has not come by this deadline.
const testDeadline = testsock.Deadline

// forEachSetup runs f as subtest s.String() (mode=NAME/transport=T) for
// every setup in Setups() that opts keep (none: all of them), in parallel
// unless inTurn is given.
func forEachSetup(t *testing.T, f func(t *testing.T, s Setup), opts ...setupOption) {
	t.Helper()
setups:
	for _, s := range Setups() {
		parallel := true
		for _, o := range opts {
			if o.keep != nil && !o.keep(s) {
				continue setups
			}
			parallel = parallel && !o.inTurn
		}
		t.Run(s.String(), func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			f(t, s)
		})
	}
}

// A setupOption narrows or orders forEachSetup.
type setupOption struct {
	keep   func(Setup) bool // nil keeps every setup
	inTurn bool             // run the setups one after another
}

var (
	// overRaw keeps the setups over the raw transport.
	overRaw = setupOption{keep: func(s Setup) bool { return s.Transport == TransportRaw }}
	// parking keeps the setups that park idle streams (Setup.Parks).
	parking = setupOption{keep: Setup.Parks}
	// inTurn runs the setups one after another (for figures a parallel
	// setup would disturb, such as the heap).
	inTurn = setupOption{inTurn: true}
)

// closeDelimited reports whether a proxy of s answers a bulk chunked body
// close-delimited: a strategy that splices chunked bodies, over the raw
// transport (see splice.go).
func closeDelimited(s Setup) bool {
	c, err := bodycopy.Lookup(s.Mode)
	if err != nil {
		return false
	}
	_, ok := c.(bodycopy.Splicer)
	return ok && s.Transport == TransportRaw
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

// frontEnd is a proxy serving on 127.0.0.1, and its log.
type frontEnd struct {
	*httptest.Server
	log    *logBuffer
	proxy  *Proxy
	stop   func()       // closes the front end (once); the test's cleanup calls it
	client *http.Client // the lean front end's (its Server was never started)
}

// Client returns a client for the front end, as httptest.Server's.
func (f *frontEnd) Client() *http.Client {
	if f.client != nil {
		return f.client
	}
	return f.Server.Client()
}

// startLean serves p, a proxy of mode lean, with its own front end on a TCP
// port of 127.0.0.1 (see startFront). The options that edit an
// http.Server, wrap the handler or add TLS do not apply to it: the test is
// skipped.
func startLean(t testing.TB, p *Proxy, lb *logBuffer, o frontOptions) *frontEnd {
	t.Helper()
	if o.tls || o.wrap != nil || len(o.server) > 0 {
		t.Skip("the lean front end has no http.Server, handler or TLS to change")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != nil {
		ln = o.listen(ln)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()
	tr := &http.Transport{}
	ts := &httptest.Server{URL: "http://" + ln.Addr().String(), Listener: ln}
	stop := sync.OnceFunc(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("lean front end: shutdown: %v", err)
		}
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("lean front end: Serve = %v; want http.ErrServerClosed", err)
		}
		p.CloseIdleConnections()
		if s := lb.String(); s != "" {
			t.Logf("proxy log:\n%s", s)
		}
	})
	t.Cleanup(stop)
	return &frontEnd{Server: ts, log: lb, proxy: p, stop: stop, client: &http.Client{Transport: tr}}
}

// testParkIdle makes a raw-transport stream park the first time it idles
// (an expired deadline: the wait gives up at once), so that a stream test
// covers a parked stream as well as the bytes relayed before it parked;
// park_test.go covers streams that never park. Give it with parkAtOnce.
const testParkIdle = time.Nanosecond

// frontOptions are what startFront's options change.
type frontOptions struct {
	cfg    Config
	tls    bool
	server []func(*http.Server)
	wrap   func(http.Handler) http.Handler
	listen func(net.Listener) net.Listener
}

// A frontOption changes the front end startFront builds.
type frontOption func(*frontOptions)

// withConfig edits the proxy's Config (Socket, Mode and Transport are
// set; MaxConns is 16; ErrorLog writes to the front end's log).
func withConfig(edit func(*Config)) frontOption { return func(o *frontOptions) { edit(&o.cfg) } }

// withParkIdle sets Config.ParkIdle (default 0: DefaultParkIdle).
func withParkIdle(d time.Duration) frontOption {
	return withConfig(func(c *Config) { c.ParkIdle = d })
}

// parkAtOnce parks every stream at its first idle moment (testParkIdle).
var parkAtOnce = withParkIdle(testParkIdle)

// withPolicy sets Config.Policy.
func withPolicy(p *policy.Policy) frontOption { return withConfig(func(c *Config) { c.Policy = p }) }

// withObserver sets Config.Observer.
func withObserver(obs Observer) frontOption { return withConfig(func(c *Config) { c.Observer = obs }) }

// withTLS serves the front end with TLS.
func withTLS() frontOption { return func(o *frontOptions) { o.tls = true } }

// withConnState sets the front end's http.Server ConnState hook.
func withConnState(f func(net.Conn, http.ConnState)) frontOption {
	return withServer(func(srv *http.Server) { srv.ConnState = f })
}

// withServer edits the front end's http.Server before it starts.
func withServer(edit func(*http.Server)) frontOption {
	return func(o *frontOptions) { o.server = append(o.server, edit) }
}

// withHandler serves wrap(proxy) instead of the proxy.
func withHandler(wrap func(http.Handler) http.Handler) frontOption {
	return func(o *frontOptions) { o.wrap = wrap }
}

// withListener serves on wrap(the TCP listener).
func withListener(wrap func(net.Listener) net.Listener) frontOption {
	return func(o *frontOptions) { o.listen = wrap }
}

// startFront serves New(Config) for s in front of socket on a TCP port of
// 127.0.0.1 until the test ends, changed by opts.
//
// Before closing its server, the cleanup waits until no request is in
// flight and no parked stream runs: each has closed its connection or
// handed it back. A server must not be closed while a stream may still
// hand it a connection (httptest.Server would count that connection
// during its Close). The proxy's Observer counts the parked streams (the
// Observer is told of a parked stream's end once its connection is closed
// or handed back), so a front end whose setup parks always runs observed;
// the clients must have left first (their cleanups run before this one).
func startFront(t testing.TB, s Setup, socket string, opts ...frontOption) *frontEnd {
	t.Helper()
	lb := &logBuffer{}
	o := frontOptions{cfg: Config{Mode: s.Mode, Transport: s.Transport, Socket: socket, MaxConns: 16, ErrorLog: log.New(lb, "", 0)}}
	for _, opt := range opts {
		opt(&o)
	}
	if *observed && o.cfg.Observer == nil {
		o.cfg.Observer = nopObserver{}
	}
	var inFlight sync.WaitGroup // requests in flight and parked streams
	if s.Parks() && o.cfg.ParkIdle >= 0 {
		o.cfg.Observer = parkCounter{o.cfg.Observer, &inFlight}
	}
	p, err := New(o.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.Mode == ModeLean {
		return startLean(t, p, lb, o)
	}
	var h http.Handler = p
	if o.wrap != nil {
		h = o.wrap(h)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A stream is parked while its request is counted, so the count
		// never rises from zero while the cleanup waits.
		inFlight.Add(1)
		defer inFlight.Done()
		h.ServeHTTP(w, r)
	}))
	ts.Config.ErrorLog = log.New(lb, "http: ", 0)
	for _, edit := range o.server {
		edit(ts.Config)
	}
	if o.listen != nil {
		ts.Listener = o.listen(ts.Listener)
	}
	if o.tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	stop := sync.OnceFunc(func() {
		if err := waitGroup(&inFlight, "the requests and parked streams to end"); err != nil {
			t.Error(err)
		}
		ts.Close()
		p.CloseIdleConnections()
		if s := lb.String(); s != "" {
			t.Logf("proxy log:\n%s", s)
		}
	})
	t.Cleanup(stop)
	return &frontEnd{Server: ts, log: lb, proxy: p, stop: stop}
}

// parkCounter is an Observer that counts the parked streams on a
// WaitGroup, and passes everything on to next (when not nil).
type parkCounter struct {
	next Observer
	wg   *sync.WaitGroup
}

func (c parkCounter) Observe(o Outcome) {
	if c.next != nil {
		c.next.Observe(o)
	}
}

func (c parkCounter) Stream(k StreamKind, delta int) {
	if k == StreamParked {
		c.wg.Add(delta)
	}
	if c.next != nil {
		c.next.Stream(k, delta)
	}
}

// simClient is a client for a front end before the simulator, closing its
// idle connections when the test ends.
func simClient(t testing.TB) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: testDeadline}
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

// waitGroup waits for wg until the test deadline.
func waitGroup(wg *sync.WaitGroup, what string) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	_, err := testsock.WaitFor(done, what)
	return err
}

// newGen and genSHA256 are testsock's generator of deterministic bytes.
var (
	newGen    = testsock.NewGen
	genSHA256 = testsock.GenSHA256
)
