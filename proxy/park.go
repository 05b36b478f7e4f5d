package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/internal/wire"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// This file parks idle streams. A chunked stream from the raw transport
// (Docker's events, logs -f, wait, stats) that has been idle for
// ParkIdle is parked: the proxy hijacks the client connection, writes the
// chunked framing itself from then on, and lets ServeHTTP return. What
// net/http keeps for a request in flight — its read and write buffers
// (about 10 KiB), the handler goroutine with its deep stack, and the
// background read goroutine — goes away; the parked stream keeps two
// small goroutines (one waits on the upstream, holding no buffer, one
// watches the client leave) and its two connections. The suite measures
// the difference in KiB per idle stream (results/README.md).
//
// Parking keeps keep-alive: when the stream ends cleanly, its client
// connection is handed back to the *http.Server that served the request
// (http.ServerContextKey), which reads the client's next request from it
// as from a newly accepted connection. Where that cannot be done (no such
// server, a connection that cannot be probed without reading, bytes the
// client had pipelined before the hijack) the connection is closed after
// the last chunk instead, which HTTP/1.1 allows.
//
// Only what can be resumed byte for byte is parked: a chunked body from
// the raw transport (its wait needs no buffer and its connection can be
// detached from the request's context), answered chunked (HTTP/1.1), for
// a request with no body (after a hijack the request body is gone).

// DefaultParkIdle is how long a stream may stay idle before it is parked,
// when ReverseProxy.ParkIdle is 0. It is short because parking is cheap
// and keeps keep-alive, while every stream not yet parked holds a whole
// request's memory: with 1,000 /events streams opened at once through
// sockproxy (the suite's measure, after 3 s), the proxy grew by 11.5 KiB
// per stream with 1ms, 14.5 with 10ms and 30 with 1s, no less than
// without parking, because the garbage of the streams that waited
// unparked together is not returned to the system until a later GC.
// A body that flows (an image save, a long JSON list) has no such pause.
const DefaultParkIdle = time.Millisecond

// errPause is pausingBody's Read when the upstream has nothing ready: the
// strategy's Copy returns with it, holding nothing, and the proxy waits.
var errPause = errors.New("proxy: stream paused: upstream idle")

// pauseDrained is the Read size below which a stream counts as drained:
// before its next Read, pausingBody checks that the upstream has bytes.
const pauseDrained = 4 << 10

// parkIdle returns how long a stream may idle before it is parked, or a
// negative duration for never.
func (p *ReverseProxy) parkIdle() time.Duration {
	if p.ParkIdle == 0 {
		return DefaultParkIdle
	}
	return p.ParkIdle
}

// copyStream copies a parkable stream to dst: the strategy copies what
// the upstream has ready, and when it has nothing the proxy waits for more
// for up to parkIdle; a stream idle that long is parked (parked true: the
// client connection is no longer rw's, and ServeHTTP must return).
func (p *ReverseProxy) copyStream(rw http.ResponseWriter, req *http.Request, res *http.Response, b *wire.ChunkedBody, copier bodycopy.Strategy, dst io.Writer) (parked bool, err error) {
	src := &pausingBody{b: b, drained: true}
	idle := p.parkIdle()
	for {
		_, err := copier.Copy(req.Context(), dst, src, -1)
		if !errors.Is(err, errPause) {
			return false, err
		}
		if !b.WaitIdle(idle) {
			continue // bytes, the end or a failure: the next Copy tells
		}
		if p.park(rw, req, res, b, copier) {
			return true, nil
		}
		src.noPause = true // not parkable after all: copy on here
	}
}

// park hijacks the client connection of an idle stream and hands the
// stream to a goroutine of its own. It returns false, having changed
// nothing, when the connection cannot be hijacked.
func (p *ReverseProxy) park(rw http.ResponseWriter, req *http.Request, res *http.Response, b *wire.ChunkedBody, copier bodycopy.Strategy) bool {
	// Every byte so far went through a flushWriter: nothing is left in
	// net/http's buffers but what Hijack flushes.
	conn, brw, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(req.Context()))
	if !b.Detach(ctx) {
		// The request's context ended first (the client left), and its
		// registration has closed the upstream connection.
		cancel()
		conn.Close()
		b.Close()
		p.logCopyError(req, req.Context().Err())
		return true
	}
	raw := sockio.Unwrap(conn).(net.Conn)
	s := &parkedStream{
		p:         p,
		conn:      conn,
		w:         wire.ChunkWriter{W: raw},
		body:      b,
		src:       pausingBody{b: b, drained: true},
		res:       res,
		copier:    copier,
		ctx:       ctx,
		cancel:    cancel,
		method:    req.Method,
		uri:       req.URL.RequestURI(),
		watchDone: make(chan struct{}),
	}
	// The connection can go back to the server after the stream if the
	// client can be watched without reading it, sent nothing that net/http
	// had already buffered, and did not ask for the connection to close
	// (net/http has answered it "Connection: close").
	if sc, ok := raw.(syscall.Conn); ok && brw.Reader.Buffered() == 0 {
		s.sc = sc
		if !req.Close {
			s.srv, _ = req.Context().Value(http.ServerContextKey).(*http.Server)
		}
	}
	p.observeStream(StreamParked, 1)
	go s.run()
	return true
}

// parkedStream is a stream relayed after its handler returned.
type parkedStream struct {
	p      *ReverseProxy
	conn   net.Conn         // the hijacked client connection
	w      wire.ChunkWriter // conn's chunked framing
	body   *wire.ChunkedBody
	src    pausingBody
	res    *http.Response // for its Trailer, filled at the body's end
	copier bodycopy.Strategy
	ctx    context.Context // done when the client leaves
	cancel context.CancelFunc
	method string
	uri    string

	sc        syscall.Conn  // conn's socket, watched without reading; nil: watched by reading
	srv       *http.Server  // takes conn back after a clean end; nil: conn is closed
	ended     atomic.Bool   // the stream is over: the watch must stop
	watchDone chan struct{} // closed when the watch (watchSocket or watchByReading) returns
}

// run relays the rest of the stream. On a clean end it writes the last
// chunk and trailer and hands the client connection back to the server
// (or closes it); on a failure it closes the connection without them, so
// that the client sees a truncated body.
func (s *parkedStream) run() {
	defer s.p.observeStream(StreamParked, -1)
	defer s.cancel()
	if s.sc != nil {
		go s.watchSocket()
	} else {
		go s.watchByReading()
	}
	var err error
	for {
		// An idle stream holds nothing here but this goroutine. An error
		// is the next Read's to report.
		s.body.WaitReadable()
		_, err = s.copier.Copy(s.ctx, &s.w, &s.src, -1)
		if !errors.Is(err, errPause) {
			break
		}
	}
	if err == nil {
		if werr := s.w.End(s.res.Trailer); werr != nil {
			err = &bodycopy.Error{Side: bodycopy.SideWrite, Err: werr}
		}
	}
	s.body.Close()
	if err != nil {
		s.p.logBodyFailure(s.ctx, s.method, s.uri, err)
	} else if s.handBack() {
		return
	}
	s.conn.Close()
}

// handBack stops the watch and gives the client connection back to the
// server, which serves the client's next request on it. It reports false
// when the connection is still the caller's to close.
func (s *parkedStream) handBack() bool {
	if s.srv == nil {
		return false
	}
	s.ended.Store(true)
	s.conn.SetReadDeadline(aLongTimeAgo) // ends the watch's wait
	<-s.watchDone
	if err := s.conn.SetReadDeadline(time.Time{}); err != nil {
		return false
	}
	l := &handBackListener{conn: s.conn}
	s.srv.Serve(l) // returns once the connection has been taken, or at once when the server is shutting down
	return l.taken
}

// aLongTimeAgo is a deadline in the past: it makes a blocked read return.
var aLongTimeAgo = time.Unix(1, 0)

// handBackListener hands one connection to http.Server.Serve, and then
// fails, which ends that Serve (the connection's own goroutine serves on).
type handBackListener struct {
	conn  net.Conn
	taken bool
}

var errHandedBack = errors.New("proxy: parked stream's connection handed back")

func (l *handBackListener) Accept() (net.Conn, error) {
	if l.taken {
		return nil, errHandedBack
	}
	l.taken = true
	return l.conn, nil
}

func (l *handBackListener) Close() error   { return nil }
func (l *handBackListener) Addr() net.Addr { return l.conn.LocalAddr() }

// watchSocket cancels the stream when the client leaves, which it sees
// as the end of the client's side of the socket without reading it
// (sockio.WaitConn, sockio.Ended). Bytes from the client (a request pipelined
// behind the stream) end the watch and are left for the server to read
// after the stream; a client that then leaves is seen by the next write.
func (s *parkedStream) watchSocket() {
	defer close(s.watchDone)
	err := sockio.WaitConn(s.sc)
	if s.ended.Load() {
		return // run ended the stream and this wait
	}
	if err == nil && !sockio.Ended(s.sc) {
		return // bytes from the client
	}
	s.cancel()
	s.body.Close() // ends a wait outside a Copy
}

// watchByReading cancels the stream when the client leaves, for a
// connection that can only be watched by reading it (as net/http's
// background read does while a handler runs): bytes the client sends are
// dropped, and its end, a failure, or run closing the connection end the
// wait.
func (s *parkedStream) watchByReading() {
	defer close(s.watchDone)
	var buf [64]byte
	for {
		if _, err := s.conn.Read(buf[:]); err != nil {
			break
		}
	}
	s.cancel()
	s.body.Close() // ends a wait outside a Copy; after the end it does nothing
}

// pausingBody is the source a parkable stream is copied from: after a
// short Read it checks that the upstream has more ready, and reads
// nothing, returning errPause, when it has not. The strategy's Copy then
// returns, with its buffer, and the proxy does the waiting.
type pausingBody struct {
	b       *wire.ChunkedBody
	drained bool // the last Read was short: check before the next
	noPause bool // never pause (the stream could not be parked)
}

func (s *pausingBody) Read(p []byte) (int, error) {
	if s.drained && !s.noPause && !s.b.ReadyNow() {
		return 0, errPause
	}
	n, err := s.b.Read(p)
	s.drained = n < pauseDrained
	return n, err
}

// ClosesOnDone passes the body's answer on (see copy's closeOnCancel).
func (s *pausingBody) ClosesOnDone(ctx context.Context) bool { return s.b.ClosesOnDone(ctx) }

// Close closes the body: a cancelled Copy ends this way.
func (s *pausingBody) Close() error { return s.b.Close() }
