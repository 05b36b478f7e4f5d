package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/dockerapi"
	"github.com/sockproxylab/sockproxy/internal/sockio"
	"github.com/sockproxylab/sockproxy/internal/wire"
	"github.com/sockproxylab/sockproxy/policy"
)

// This file is the lean front end: an HTTP/1.1 server of the proxy's own
// that owns the client side as the raw transport owns the upstream side.
// Requests are read with the wire package's request reader into one
// reused http.Request per connection; the response head is written
// straight into the connection's buffered writer; a chunked body is
// relayed with its own framing, validated as it passes, never re-chunked:
// the chunks that came together in one read go out in one write
// (relayFramed). A
// truncated body ends with the connection closed before its end: no
// final chunk, a short Content-Length.
//
// What net/http's server does per request and the lean front end does
// not: a background read goroutine (a client that leaves while the
// upstream has not answered is seen at the next write, not at once), a
// request context per request, maps for the header (one is reused per
// connection), and the response writer's chunking.

// leanServer serves HTTP/1.1 clients itself and forwards through a raw
// transport (see [Proxy.Serve]).
type leanServer struct {
	rp        *ReverseProxy // its Strategy, Policy, Observer, ErrorLog and ErrorHandler's socket
	transport *RawTransport
	socket    string
	logger    *log.Logger
	// maxHeaderBytes bounds a request's head (0: wire's default, 1 MiB).
	maxHeaderBytes int
	// readHeaderTimeout bounds the reading of a request's head from its
	// first byte (0: none); an idle keep-alive connection waits without.
	readHeaderTimeout time.Duration

	mu        sync.Mutex
	conns     map[*leanConn]struct{}
	listeners map[net.Listener]struct{}
	shutdown  atomic.Bool
	done      chan struct{} // closed at Shutdown or Close
	wg        sync.WaitGroup
	pl        *leanPoller // waits for the parked streams; started at the first (see poller)
	plOff     bool        // the poller stopped for good (or failed to start)
}

func newLeanServer(rp *ReverseProxy, t *RawTransport, cfg Config, logger *log.Logger) *leanServer {
	return &leanServer{rp: rp, transport: t, socket: cfg.Socket, logger: logger,
		maxHeaderBytes: cfg.MaxHeaderBytes, readHeaderTimeout: cfg.ReadHeaderTimeout,
		conns: map[*leanConn]struct{}{}, listeners: map[net.Listener]struct{}{}, done: make(chan struct{})}
}

// serve accepts connections on ln until it fails or the server shuts
// down.
func (s *leanServer) serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// As net/http: back off on a temporary accept failure
				// (out of descriptors), up to a second.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger.Printf("proxy: accept: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		lc := &leanConn{s: s, c: c, io: c}
		if r, err := sockio.NewRawIO(sockio.Unwrap(c)); err == nil {
			lc.io = r // the buffers' reads and writes (see sockio.RawIO)
		}
		s.mu.Lock()
		if s.shutdown.Load() {
			s.mu.Unlock()
			c.Close()
			return http.ErrServerClosed
		}
		s.conns[lc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go lc.serve()
	}
}

// close stops the listeners; with force it closes every connection,
// else only the idle ones, and the busy ones close after their current
// exchange.
func (s *leanServer) close(force bool) {
	s.mu.Lock()
	if s.shutdown.CompareAndSwap(false, true) {
		close(s.done)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	var parked []*leanConn
	if force {
		parked = s.stopPollerLocked()
	}
	for lc := range s.conns {
		if force || lc.idle.Load() {
			lc.c.Close()
		}
		if force {
			lc.abortUpstream()
		}
	}
	s.mu.Unlock()
	for _, lc := range parked {
		go lc.resume() // it ends the exchange and the connection
	}
}

// shutdownWait closes the listeners and idle connections and waits until
// every connection has ended or ctx is done, then closes what is left.
func (s *leanServer) shutdownWait(ctx context.Context) error {
	s.close(false)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.mu.Lock()
		s.stopPollerLocked() // no connection is left, parked or not
		s.mu.Unlock()
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		s.close(true)
		<-done
		return fmt.Errorf("closed %d busy connection(s) (requests or upgraded streams): %w", n, ctx.Err())
	}
}

// leanConn is one client connection.
type leanConn struct {
	s    *leanServer
	c    net.Conn
	io   io.ReadWriter // c, through raw system calls where it can be
	idle atomic.Bool   // waiting for a request: Shutdown may close it

	bw        *bufio.Writer // the write buffer, lent back to leanWriters while the connection idles
	inf       leanInformer  // the round trip's 1xx relay and abort
	watch     *time.Timer   // starts watchClient during a slow round trip
	watchDone chan struct{} // watchClient has returned
	armed     bool          // the watch timer runs or ran since arm

	xff []string // the last X-Forwarded-For value (forwardedFor)

	// linger: the front end closes while the client may still be sending
	// (after an answer of its own, or an upload the upstream did not read
	// to its end), so end closes lingering (lingerClose).
	linger bool

	mu   sync.Mutex
	body io.Closer // the response body being relayed: closed by the watch when the client left

	br     *bufio.Reader // the read buffer; nil while the stream parks
	rr     *wire.RequestReader
	req    http.Request // the request being answered, reused
	remote string

	// Parking (lean_park.go).
	mayPark bool        // the exchange's stream may park (no request body, parking on)
	woken   bool        // the exchange's stream was parked and resumed: it parks again after leanRepark
	st      *leanStream // the parked exchange; nil when not parked
	pfd     [2]int      // the client's and upstream's sockets, while parked
}

// leanInBuffer is the largest Content-Length body relayed through the
// connection's write buffer (head and body in as few writes as fit);
// larger ones are copied through Pooled's buffer straight to the
// connection.
const leanInBuffer = 64 << 10

// leanWatchAfter is how long a round trip may wait for the upstream's
// response head before the front end watches the client connection for
// its end (net/http's server reads in the background for that, on every
// request): an upstream that holds a request (a long poll) is then told,
// by the round trip's abort, that the client left.
const leanWatchAfter = 20 * time.Millisecond

// watchClient waits, on the timer's goroutine, until the client
// connection is readable; if it has ended (the client closed it or
// half-closed), it aborts the round trip. Bytes the client pipelined end
// the watch without an abort. disarm ends it early.
func (lc *leanConn) watchClient() {
	defer func() { lc.watchDone <- struct{}{} }()
	sc, ok := sockio.Unwrap(lc.c).(syscall.Conn)
	if !ok {
		return
	}
	if err := sockio.WaitConn(sc); err != nil || !sockio.Ended(sc) {
		return
	}
	lc.abortUpstream()
}

// abortUpstream ends the exchange's upstream side: the round trip waiting
// for its head, or the response body being relayed. Any goroutine may
// call it.
func (lc *leanConn) abortUpstream() {
	if a := lc.inf.abort.Load(); a != nil {
		(*a)()
	}
	lc.mu.Lock()
	if lc.body != nil {
		lc.body.Close()
	}
	lc.mu.Unlock()
}

// arm starts the client watch after leanWatchAfter; disarm stops it, and
// waits for a watch that had started.
func (lc *leanConn) arm() {
	lc.armed = true
	if lc.watch == nil {
		lc.watchDone = make(chan struct{}, 1)
		lc.watch = time.AfterFunc(leanWatchAfter, lc.watchClient)
		return
	}
	lc.watch.Reset(leanWatchAfter)
}

func (lc *leanConn) disarm() {
	if !lc.armed {
		return
	}
	lc.armed = false
	if lc.watch.Stop() {
		return
	}
	lc.c.SetReadDeadline(aLongTimeAgo) // ends the watch's wait
	<-lc.watchDone
	lc.c.SetReadDeadline(time.Time{})
}

// leanBufs are a connection's buffers, pooled between connections.
var (
	leanReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	leanWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// takeWriter gives the connection a write buffer; lendWriter gives an
// empty one back, so that an idle connection (between requests, or while
// its stream waits for the upstream) holds none.
func (lc *leanConn) takeWriter() {
	if lc.bw == nil {
		lc.bw = leanWriters.Get().(*bufio.Writer)
		lc.bw.Reset(lc.io)
	}
}

func (lc *leanConn) lendWriter() {
	if lc.bw != nil && lc.bw.Buffered() == 0 {
		lc.bw.Reset(nil)
		leanWriters.Put(lc.bw)
		lc.bw = nil
	}
}

// takeReader gives the connection a read buffer; dropReader gives it
// back, with whatever it holds (the connection ends, or its stream parks
// with nothing buffered).
func (lc *leanConn) takeReader() {
	lc.br = leanReaders.Get().(*bufio.Reader)
	lc.br.Reset(lc.io)
}

func (lc *leanConn) dropReader() {
	if lc.br != nil {
		lc.br.Reset(nil)
		leanReaders.Put(lc.br)
		lc.br = nil
	}
}

// serve reads requests until the connection ends, answering each before
// reading the next (pipelined requests wait in the read buffer).
func (lc *leanConn) serve() {
	lc.takeReader()
	lc.remote = lc.c.RemoteAddr().String()
	lc.loop()
}

// loop serves requests until the connection ends, and then closes it, or
// its stream parks (lc.st), leaving everything open for resume.
func (lc *leanConn) loop() {
	if lc.exchanges() {
		lc.park()
		return
	}
	lc.end()
}

// end closes the connection and gives its buffers back.
func (lc *leanConn) end() {
	s := lc.s
	lc.disarm()
	if lc.linger {
		lc.lingerClose()
	}
	lc.c.Close()
	lc.dropReader()
	if lc.bw != nil {
		lc.bw.Reset(nil)
		leanWriters.Put(lc.bw)
		lc.bw = nil
	}
	s.mu.Lock()
	delete(s.conns, lc)
	s.mu.Unlock()
	s.wg.Done()
}

// leanLinger bounds a lingering close: how long the front end goes on
// reading, and dropping, what a client still sends after an answer that
// closes the connection.
const leanLinger = 5 * time.Second

// lingerClose half-closes the connection after the last answer and reads
// until the client closes or leanLinger passes, as net/http's server
// does for a body a handler left unread (it reads 256 KiB, then waits
// 500 ms): a client still writing the request body (an upload refused by
// the policy, or answered early by the upstream) would otherwise fail
// its write with a broken pipe, or lose the answer to a reset, and
// report that instead of the answer (the docker CLI did).
func (lc *leanConn) lingerClose() {
	lc.linger = false
	cw, ok := sockio.Unwrap(lc.c).(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	lc.c.SetReadDeadline(time.Now().Add(leanLinger))
	io.Copy(io.Discard, lc.c)
}

// exchanges answers requests until the connection cannot carry another
// (false) or a stream parks (true).
func (lc *leanConn) exchanges() (parked bool) {
	s := lc.s
	if lc.rr == nil { // a new connection, or one whose stream parked
		lc.rr = wire.NewRequestReader(lc.br, s.maxHeaderBytes)
		lc.rr.Src, lc.rr.Under = lc.c, lc.io
	}
	for {
		lc.idle.Store(true)
		if s.shutdown.Load() {
			return false
		}
		if t := s.readHeaderTimeout; t > 0 {
			if _, err := lc.br.Peek(1); err != nil {
				return false // the client closed an idle connection, or Shutdown did
			}
			lc.c.SetReadDeadline(time.Now().Add(t))
		}
		err := lc.rr.Read(&lc.req)
		if s.readHeaderTimeout > 0 {
			lc.c.SetReadDeadline(time.Time{})
		}
		lc.idle.Store(false)
		lc.takeWriter()
		if err != nil {
			var re *wire.RequestError
			if errors.As(err, &re) {
				lc.answer(nil, policy.Decision{}, time.Time{}, re.Status, re.Reason)
			}
			return false
		}
		lc.req.RemoteAddr = lc.remote
		if !lc.exchange(lc.br, lc.bw, &lc.req) {
			return lc.st != nil
		}
		lc.lendWriter()
	}
}

// answer makes a short plain-text answer of the front end's own to req
// (see send).
func (lc *leanConn) answer(req *http.Request, d policy.Decision, start time.Time, code int, body string) {
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}
	lc.send(&leanWriter{h: h, code: code, body: []byte(body)}, req, d, start, int64(len(body)))
}

// send makes w the answer to req (nil: a request that could not be read)
// and the connection's last. It is reported to the Observer (out bytes of
// body: as under the handler, a refusal's message is not counted) before
// it is flushed, so that a client that has its answer finds it counted
// (net/http flushes a handler's short answer after the handler returns).
// The connection then ends lingering, the request's body, if any, unread.
func (lc *leanConn) send(w *leanWriter, req *http.Request, d policy.Decision, start time.Time, out int64) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	wire.WriteResponseHead(lc.bw, true, w.code, "", w.Header(), int64(len(w.body)), false, true)
	lc.bw.Write(w.body)
	if req != nil {
		lc.observe(req, d, w.code, out, start)
	}
	lc.bw.Flush()
	lc.linger = true
}

// exchange answers one request and reports whether the connection can
// carry another.
func (lc *leanConn) exchange(br *bufio.Reader, bw *bufio.Writer, req *http.Request) bool {
	s := lc.s
	p := s.rp
	start := time.Now()
	if p.Observer != nil {
		p.Observer.Stream(StreamActive, 1) // observe ends it
	}
	http11 := req.ProtoAtLeast(1, 1)
	keep := !req.Close

	var d policy.Decision
	if p.Policy != nil {
		d = p.Policy.Decide(req)
		if !d.Allowed {
			p.logf("proxy: %s", d.AuditLine(req))
			rw := &leanWriter{}
			d.WriteError(rw)
			lc.send(rw, req, d, start, 0)
			return false
		}
	}

	if ex := req.Header["Expect"]; len(ex) > 0 && req.ProtoAtLeast(1, 1) && !(len(ex) == 1 && strings.EqualFold(ex[0], "100-continue")) {
		// As net/http's server: an expectation it cannot meet.
		lc.answer(req, d, start, http.StatusExpectationFailed, "")
		return false
	}
	reqUpType := wire.UpgradeType(req.Header)
	if !isPrint(reqUpType) {
		lc.answer(req, d, start, http.StatusBadRequest, "proxy: invalid protocol in Upgrade\n")
		return false
	}
	prepareOutbound(req, reqUpType, lc.forwardedFor)

	// The request body is read by the transport's writer; track its end,
	// so that the next request is not read while it may still read.
	var body *leanBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &leanBody{rc: req.Body, done: make(chan struct{})}
		req.Body = body
		if fr, ok := body.rc.(wire.FramedReader); ok {
			// A chunked upload goes on with the client's own framing.
			req.Body = leanFramedBody{body, fr}
		}
	} else {
		req.Body = nil
	}
	defer func() {
		if body != nil {
			lc.waitBody(body)
		}
	}()

	lc.inf.bw, lc.inf.http10 = bw, !http11
	lc.mayPark = body == nil && p.parkIdle() >= 0
	lc.woken = false
	if body == nil {
		// Watched only with no upload in flight: the watch's wait would
		// contend with the body's reads for the connection.
		lc.arm()
	}
	res, err := s.transport.RoundTripInformed(req, &lc.inf)
	if body == nil {
		lc.disarm()
	}
	if err != nil {
		p.logf("proxy: upstream failed: socket %s: %s %s: %v", s.socket, req.Method, req.URL.RequestURI(), err)
		lc.answer(req, d, start, http.StatusBadGateway, fmt.Sprintf("proxy: upstream socket %s: %v\n", s.socket, err))
		return false
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		if lc.upgrade(br, bw, req, res, reqUpType) {
			lc.observe(req, d, http.StatusSwitchingProtocols, 0, start)
		} else {
			lc.answer(req, d, start, http.StatusBadGateway, "proxy: upstream switched protocols badly\n")
		}
		return false
	}
	defer s.transport.Release(res) // the head is out: a parked stream needs no header

	removeHopByHopHeaders(res.Header)
	withBody := hasBody(req, res)
	chunked := withBody && res.ContentLength < 0 && http11
	if withBody && res.ContentLength < 0 && !http11 {
		keep = false // close-delimited to an HTTP/1.0 client
	}
	if body != nil && !body.finished() {
		// An upstream that answered before it read the whole upload: the
		// rest cannot be told from the next request.
		keep = false
		lc.linger = true
	}
	cl := res.ContentLength
	if !withBody && req.Method != http.MethodHead {
		cl = -1 // 204, 304: their Content-Length header, if any, stays as sent
		if v := res.Header["Content-Length"]; len(v) == 1 {
			if n, ok := wire.ParseContentLength(v[0]); ok {
				cl = n
			}
		}
	}
	announced := len(res.Trailer)
	if announced > 0 && chunked {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		res.Header.Set("Trailer", strings.Join(keys, ", "))
	}
	if err := wire.WriteResponseHead(bw, true, res.StatusCode, res.Status, res.Header, cl, chunked, !keep); err != nil {
		res.Body.Close()
		p.logf("proxy: upstream failed: %s %s: %v", req.Method, req.URL.RequestURI(), err)
		lc.answer(req, d, start, http.StatusBadGateway, "proxy: invalid response header from upstream\n")
		return false
	}
	var n int64
	if withBody {
		src, ok := res.Body.(bodycopy.SpliceSource)
		if !ok || res.ContentLength > leanInBuffer {
			// A close-delimited body has no spans; a large Content-Length
			// body moves with less CPU through a large buffer than spliced
			// from a Unix socket to TCP on these machines (results/README.md):
			// Pooled's copy, after the head.
			src = nil
		}
		lc.mu.Lock()
		lc.body = res.Body
		lc.mu.Unlock()
		n, err = lc.relayBody(bw, res.Body, res.ContentLength, src, chunked, res.Trailer)
		if err == errLeanParked {
			lc.st = &leanStream{d: d, start: start, res: res, src: src.(*wire.ChunkedBody), chunked: chunked, keep: keep, n: n}
			return false
		}
		lc.takeWriter() // relayBody lends and takes it while the stream idles
	}
	return lc.endExchange(req, d, start, res, chunked, keep, n, err)
}

// endExchange ends an exchange after its body was relayed (n bytes, err
// its failure): it reports whether the connection can carry another
// request.
func (lc *leanConn) endExchange(req *http.Request, d policy.Decision, start time.Time, res *http.Response, chunked, keep bool, n int64, err error) bool {
	bw := lc.bw
	if lc.body != nil {
		lc.mu.Lock()
		lc.body = nil
		lc.mu.Unlock()
	}
	if err != nil {
		res.Body.Close()
		lc.s.rp.logBodyFailure(context.Background(), req.Method, req.URL.RequestURI(), err)
		lc.observe(req, d, res.StatusCode, n, start)
		// What the upstream sent before it failed goes out (a stream's
		// last event), then the close before the body's end.
		bw.Flush()
		if res.ContentLength < 0 && !chunked {
			// Close-delimited: a clean close would look complete.
			if tc, ok := sockio.Unwrap(lc.c).(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		}
		return false // closed before the body's end: the client sees the truncation
	}
	res.Body.Close()
	// Reported before the last flush, as send's answers.
	lc.observe(req, d, res.StatusCode, n, start)
	return bw.Flush() == nil && keep
}

// observe reports a request to the Observer, as observedServe does for
// the handler (the operation classified when there is no policy).
func (lc *leanConn) observe(req *http.Request, d policy.Decision, status int, out int64, start time.Time) {
	obs := lc.s.rp.Observer
	if obs == nil {
		return
	}
	o := Outcome{Req: req, Op: d.Op, Status: status, BytesOut: out, Duration: time.Since(start)}
	if b := leanUpload(req); b != nil {
		lc.waitBody(b) // its count is final once the transport is done with it
		o.BytesIn = b.n.Load()
	}
	switch {
	case lc.s.rp.Policy == nil:
		m, _ := dockerapi.ClassifyRequest(req)
		o.Op = m.Op
	case d.Allowed:
		o.Verdict = Allowed
	default:
		o.Verdict, o.Rule = Denied, d.Rule
	}
	obs.Stream(StreamActive, -1)
	obs.Observe(o)
}

// prepareOutbound turns the inbound request into the outbound one in
// place, as the handler's forward does with its copy (setForwarding, with
// value making X-Forwarded-For's value slice).
func prepareOutbound(req *http.Request, reqUpType string, value func(string) []string) {
	te := wire.HasToken(req.Header["Te"], "trailers")
	removeHopByHopHeaders(req.Header)
	setForwarding(req.Header, req, te, reqUpType, value)
	req.Close = false
}

// forwardedFor is the one-value slice of v, X-Forwarded-For's: made again
// only when v changes (a client's own X-Forwarded-For), so that a
// connection's requests reuse one. Nothing writes to a request header's
// value slices.
func (lc *leanConn) forwardedFor(v string) []string {
	if len(lc.xff) != 1 || lc.xff[0] != v {
		lc.xff = []string{v}
	}
	return lc.xff
}

var connectionUpgrade = []string{"Upgrade"}

// relayBody relays a response body after its head: a chunked body from
// the raw transport to an HTTP/1.1 client with its own framing
// (relayFramed), else src's spans (a SpliceSource from the raw transport:
// a small Content-Length body, or a chunked one de-chunked for an HTTP/1.0
// client), else a plain copy; trailer fills in at the chunked body's end.
// It returns the payload bytes written.
// While a stream is idle (its upstream has nothing ready and what came is
// flushed), the client connection is watched for its end.
func (lc *leanConn) relayBody(bw *bufio.Writer, body io.Reader, size int64, src bodycopy.SpliceSource, chunked bool, trailer http.Header) (int64, error) {
	switch {
	case src == nil && chunked: // a close-delimited body to an HTTP/1.1 client
		cw := wire.ChunkWriter{W: bw}
		n, err := bodycopy.Pooled.Copy(context.Background(), &cw, body, -1)
		if err != nil {
			return n, err
		}
		return n, cw.End(trailer)
	case src == nil:
		if err := bw.Flush(); err != nil {
			return 0, &bodycopy.Error{Side: bodycopy.SideWrite, Err: err}
		}
		// Straight to the connection (a plain writer: no splice), with
		// Pooled's buffer sized for the body.
		return bodycopy.Pooled.Copy(context.Background(), writerOnly{lc.c}, body, size)
	}
	cb, stream := src.(*wire.ChunkedBody)
	if stream && chunked {
		return lc.relayFramed(bw, cb, trailer)
	}
	var n int64
	// The head goes out before the first chunk is waited for: a client
	// waiting on it (docker run waits for /wait's head before it
	// attaches) must not wait for the first body byte.
	idle := stream && !cb.ReadyNow()
	for {
		if idle {
			var err error
			if bw, err = lc.idleStream(bw, cb); err != nil {
				return n, err
			}
		}
		head, rest, err := src.Span()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, &bodycopy.Error{Side: bodycopy.SideRead, Err: err}
		}
		if _, err := bw.Write(head); err != nil {
			return n, &bodycopy.Error{Side: bodycopy.SideWrite, Err: err}
		}
		n += int64(len(head))
		if rest != nil && rest.N > 0 {
			// bufio.Writer.ReadFrom fills its buffer, then hands the rest
			// to the connection's ReadFrom: splice(2) from the upstream
			// socket into a TCP client.
			want := rest.N
			m, err := bw.ReadFrom(rest)
			n += m
			if err != nil {
				return n, &bodycopy.Error{Err: err}
			}
			if m < want {
				return n, &bodycopy.Error{Side: bodycopy.SideRead, Err: fmt.Errorf("body ended after %d bytes: %w", n, io.ErrUnexpectedEOF)}
			}
		}
		// Nothing more ready upstream: what is buffered goes out now (a
		// stream's event at once; a bulk body's chunks that arrived
		// together in one write).
		idle = stream && !cb.ReadyNow()
	}
	return n, nil
}

// idleStream flushes what a stream relayed so far and waits until cb has
// more, holding neither write buffer (flushed, lent back) nor the
// upstream's read buffer (WaitReadable lends it), watching the client; or
// the stream parks (lean_park.go), and idleStream returns errLeanParked.
// It returns the write buffer to go on with.
func (lc *leanConn) idleStream(bw *bufio.Writer, cb *wire.ChunkedBody) (*bufio.Writer, error) {
	if err := bw.Flush(); err != nil {
		return bw, &bodycopy.Error{Side: bodycopy.SideWrite, Err: err}
	}
	if lc.waitStream(cb) {
		return nil, errLeanParked
	}
	lc.takeWriter()
	return lc.bw, nil
}

// relayFramed relays a chunked body to an HTTP/1.1 client with the
// upstream's own framing, validated as it passes (wire.ChunkedBody's
// ReadFramed): one read and one write for the chunks that came together,
// rather than a size line, a copy and a CRLF per chunk. The last chunk and
// the trailer are written anew from trailer. It holds its buffer only
// while bytes are ready: a stream waits for the upstream, or parks, as
// relayBody's span loop does (waitStream; errLeanParked when it parked).
// It returns the payload bytes written.
func (lc *leanConn) relayFramed(bw *bufio.Writer, cb *wire.ChunkedBody, trailer http.Header) (int64, error) {
	var n int64
	var bp *[]byte
	defer func() {
		if bp != nil {
			wire.FramedBufs.Put(bp)
		}
	}()
	idle := !cb.ReadyNow()
	for {
		if idle {
			// Flushed (the head before the first chunk is waited for: a
			// client may wait on it), every buffer lent while it waits.
			if bp != nil {
				wire.FramedBufs.Put(bp)
				bp = nil
			}
			var err error
			if bw, err = lc.idleStream(bw, cb); err != nil {
				return n, err
			}
		}
		if bp == nil {
			bp = wire.FramedBufs.Get().(*[]byte)
		}
		framed, payload, err := cb.ReadFramed(*bp)
		if len(framed) > 0 {
			// Into the write buffer when it fits there (a stream's event
			// after the head), else straight to the connection.
			if _, err := bw.Write(framed); err != nil {
				return n, &bodycopy.Error{Side: bodycopy.SideWrite, Err: err}
			}
			n += int64(payload)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, &bodycopy.Error{Side: bodycopy.SideRead, Err: err}
		}
		idle = !cb.ReadyNow()
	}
	cw := wire.ChunkWriter{W: noFlush{bw}}
	if err := cw.End(trailer); err != nil {
		return n, &bodycopy.Error{Side: bodycopy.SideWrite, Err: err}
	}
	return n, nil
}

// noFlush hides a bufio.Writer's Flush from a ChunkWriter: the exchange
// flushes once at its end.
type noFlush struct{ w *bufio.Writer }

func (f noFlush) Write(p []byte) (int, error) { return f.w.Write(p) }

// leanInformer relays 1xx responses (other than 101) to the client, and
// holds the round trip's abort while it waits for the head (a
// wire.Aborter).
type leanInformer struct {
	bw     *bufio.Writer
	http10 bool
	abort  atomic.Pointer[func()]
}

// Attach implements wire.Aborter.
func (i *leanInformer) Attach(abort *func()) { i.abort.Store(abort) }

func (i *leanInformer) Got1xx(code int, header http.Header) error {
	if i.http10 {
		return nil
	}
	removeHopByHopHeaders(header)
	wire.WriteResponseHead(i.bw, true, code, "", header, -1, false, false)
	return i.bw.Flush()
}

// leanBody is a request body the transport's writer reads: its Close
// (the writer's last act) tells the exchange that the reader is free.
type leanBody struct {
	rc   io.ReadCloser
	n    atomic.Int64 // bytes read
	done chan struct{}
	once sync.Once
	eof  atomic.Bool
}

func (b *leanBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

func (b *leanBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// finished reports whether the body was read to its end.
func (b *leanBody) finished() bool { return b.eof.Load() }

// leanFramedBody is a chunked upload the transport sends on with the
// client's own framing (wire.FramedReader), counted as leanBody counts.
type leanFramedBody struct {
	*leanBody
	fr wire.FramedReader
}

func (b leanFramedBody) ReadFramed(buf []byte) ([]byte, int, error) {
	framed, payload, err := b.fr.ReadFramed(buf)
	b.n.Add(int64(payload))
	if err == io.EOF {
		b.eof.Store(true)
	}
	return framed, payload, err
}

// leanUpload returns the leanBody of req's exchange, if it has one.
func leanUpload(req *http.Request) *leanBody {
	switch b := req.Body.(type) {
	case *leanBody:
		return b
	case leanFramedBody:
		return b.leanBody
	}
	return nil
}

// waitBody waits for the transport's writer to be done with the request
// body b. A body read to its end is left to the writer, which is sending
// its last bytes and closing it (the answer may come first: an upstream
// answers once it has the last chunk). One the writer still reads is
// stopped: the client connection's reads are made to fail (a deadline in
// the past), and the connection is done: the next request's read fails
// too, and it ends lingering.
func (lc *leanConn) waitBody(b *leanBody) {
	select {
	case <-b.done:
		return
	default:
	}
	if !b.finished() {
		lc.c.SetReadDeadline(aLongTimeAgo)
		lc.linger = true
	}
	<-b.done
}

// leanWriter is a minimal http.ResponseWriter for the answers the front
// end makes itself (a policy's refusal).
type leanWriter struct {
	h    http.Header
	code int
	body []byte
}

func (w *leanWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}

func (w *leanWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *leanWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// upgrade relays a 101: the head goes out alone, then both directions are
// copied until both have ended (see serveUpgrade). It reports false, and
// relays nothing, when the upstream switched protocols badly.
func (lc *leanConn) upgrade(br *bufio.Reader, bw *bufio.Writer, req *http.Request, res *http.Response, reqUpType string) bool {
	p := lc.s.rp
	resUpType, err := checkSwitch(reqUpType, res)
	ub, ok := res.Body.(*wire.UpgradeBody)
	if err == nil && !ok {
		err = fmt.Errorf("upstream's 101 response body %T is not the raw transport's connection", res.Body)
	}
	if err != nil {
		res.Body.Close()
		p.logf("proxy: upstream failed: %s %s: %v", req.Method, req.URL.RequestURI(), err)
		return false
	}
	defer ub.Close()
	h := res.Header
	removeHopByHopHeaders(h)
	h["Connection"] = connectionUpgrade
	h["Upgrade"] = []string{resUpType}
	status := res.Status
	if status == "" {
		status = "101 Switching Protocols"
	}
	wire.WriteResponseHead(bw, true, res.StatusCode, status, h, -1, false, false)
	if err := bw.Flush(); err != nil {
		p.logf("proxy: client failed: %s %s: writing 101 response: %v", req.Method, req.URL.RequestURI(), err)
		return true
	}
	uc, buffered := ub.Stream()
	if len(buffered) > 0 {
		if _, err := lc.c.Write(buffered); err != nil {
			p.logf("proxy: client failed: %s %s: writing the stream after the 101: %v", req.Method, req.URL.RequestURI(), err)
			return true
		}
	}
	p.observeStream(StreamUpgraded, 1)
	defer p.observeStream(StreamUpgraded, -1)
	if err := relayStream(p.strategy(), lc.c, br, uc); err != nil {
		p.logf("proxy: %s failed during upgraded stream: %s %s: %s: %v", err.side, req.Method, req.URL.RequestURI(), err.op, err.err)
	}
	return true
}
