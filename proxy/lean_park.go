package proxy

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/sockio"
	"github.com/sockproxylab/sockproxy/internal/wire"
	"github.com/sockproxylab/sockproxy/policy"
)

// This file parks the lean front end's idle streams. A chunked stream
// from the raw transport that has been idle for the proxy's park delay
// (ReverseProxy.ParkIdle) parks: the connection's goroutine saves what is
// left of the exchange (a leanStream), gives its read buffer back (the
// write buffer is already lent, the upstream's read buffer is lent by
// ChunkedBody.Park), registers the client and upstream sockets with the
// server's poller (lean_poll.go) and ends. An idle stream then holds no
// goroutine and no buffer: its two connections and the exchange's state.
// When either socket is readable, resume continues on a new goroutine:
// the client's end aborts the stream as the client watch does
// (watchClient), anything else relays on; the exchange ends as it would
// have, and the connection's next requests are served by the same
// goroutine.
//
// Only what can be resumed byte for byte parks: a request with no body
// (nothing of the client's is in flight), no pipelined byte buffered or
// pending on the client's socket (a pending byte would make the poller
// fire at once; such a stream waits as before), and a chunked body whose
// read buffer holds nothing.

// errLeanParked is relayBody's result when the stream parked: the
// exchange saves its state in lc.st and the connection's goroutine ends.
var errLeanParked = errors.New("proxy: lean stream parked")

// leanStream is what is left of an exchange whose stream parked.
type leanStream struct {
	d       policy.Decision
	start   time.Time
	res     *http.Response
	src     *wire.ChunkedBody
	chunked bool    // relayed with chunked framing (an HTTP/1.1 client)
	keep    bool    // the connection may carry another request after it
	n       int64   // payload bytes relayed before the parking
	url     url.URL // the request's URL, for the log and the Observer (the request reader's goes with it)
}

// poller returns the server's poller, started at the first parking, or
// nil once the server was closed (or the poller could not start: the
// streams then wait on their goroutines, as unparked ones).
func (s *leanServer) poller() *leanPoller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pl == nil && !s.plOff {
		pl, err := newLeanPoller()
		if err != nil {
			s.plOff = true
			s.logger.Printf("%v; idle streams will not park", err)
			return nil
		}
		s.pl = pl
	}
	return s.pl
}

// stopPoller stops the poller for good and returns the connections that
// were parked, which the caller owns. s.mu is held.
func (s *leanServer) stopPollerLocked() []*leanConn {
	s.plOff = true
	pl := s.pl
	if pl == nil {
		return nil
	}
	s.pl = nil
	parked := pl.stop()
	pl.shutdown()
	return parked
}

// leanRepark is how long a stream that an event woke from parking waits
// for the next one before it parks again (when the park delay is
// shorter): events that come in a run (a burst, a steady trickle) are
// relayed without a wake-up through the poller each, while a stream
// opened and left idle still parks after the park delay, so that many
// streams opened together do not wait unparked together (the memory that
// costs stays in the process: results/2026-12-07-3b85281-parkidle50).
const leanRepark = 50 * time.Millisecond

// waitStream waits, holding no write buffer, until the idle stream cb
// has something to relay, watching the client meanwhile; or it reports
// true when the stream stayed idle for the park delay and is ready to
// park (see prepark): relayBody then returns errLeanParked.
func (lc *leanConn) waitStream(cb *wire.ChunkedBody) bool {
	lc.lendWriter()
	if lc.mayPark {
		d := lc.s.rp.parkIdle()
		if lc.woken {
			d = max(d, leanRepark)
		}
		if !cb.WaitIdle(d) {
			return false // something to relay, or a failure Span reports
		}
		if lc.prepark(cb) {
			return true
		}
	}
	lc.arm()
	cb.WaitReadable() // an error: Span tells
	lc.disarm()
	return false
}

// prepark checks that the idle stream cb can be resumed byte for byte
// and takes what parking needs: its sockets' descriptors (lc.pfd) and the
// upstream's read buffer (cb.Park).
func (lc *leanConn) prepark(cb *wire.ChunkedBody) bool {
	// The request reader's count includes bytes it put back and the read
	// buffer has yet to take (a resumed stream has none: no reader yet).
	if lc.bw != nil || lc.br.Buffered() > 0 || lc.rr != nil && lc.rr.Buffered() > 0 || lc.s.poller() == nil {
		return false
	}
	sc, ok := sockio.Unwrap(lc.c).(syscall.Conn)
	if !ok || sockio.Readable(sc) {
		return false // bytes or the end pending: the watch tells which
	}
	cfd, ok := connFD(sc)
	if !ok {
		return false
	}
	uc := cb.Park()
	if uc == nil {
		return false
	}
	ufd, ok := connFD(uc)
	if !ok {
		cb.Unpark()
		return false
	}
	lc.pfd = [2]int{cfd, ufd}
	return true
}

// connFD returns c's descriptor. It stays c's: the caller must not use it
// after c is closed.
func connFD(c syscall.Conn) (int, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(u uintptr) { fd = int(u) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// park ends the connection's goroutine with its stream parked (lc.st):
// the read buffer goes back to its pool and the sockets to the poller, the
// goroutine's last act. When the poller will not take them, the stream
// waits here, unparked, from then on.
func (lc *leanConn) park() {
	lc.dropReader()
	// Nor does it keep the request's header (the Observer and the log
	// use the method, the URL and the address), the request reader (made
	// anew for the next request) or the client watch's timer.
	lc.req.Header = nil // Read makes one; a cleared map keeps its size
	if lc.rr != nil {
		lc.st.url = *lc.req.URL
		lc.req.URL = &lc.st.url
		lc.rr = nil
	}
	lc.watch, lc.watchDone = nil, nil // disarmed: stopped, its watch returned
	// As the handler's parked streams, a parked exchange is not active;
	// unlike them, its Outcome comes at the stream's end, with all its
	// bytes.
	lc.s.rp.observeStream(StreamActive, -1)
	lc.s.rp.observeStream(StreamParked, 1) // resume ends it
	pl := lc.s.poller()
	if pl != nil && pl.add(lc) == nil {
		return
	}
	lc.mayPark = false
	lc.resume()
}

// resume continues a parked connection (on the poller's new goroutine, or
// Close's): the rest of its stream, the end of the exchange, then the
// connection's next requests.
func (lc *leanConn) resume() {
	st := lc.st
	lc.st = nil
	lc.woken = true
	lc.s.rp.observeStream(StreamParked, -1)
	lc.s.rp.observeStream(StreamActive, 1) // observe ends it
	lc.takeReader()
	st.src.Unpark()
	var n int64
	var err error
	if sc, ok := sockio.Unwrap(lc.c).(syscall.Conn); !ok || sockio.Ended(sc) {
		// The client left (or Close closed its connection): as
		// watchClient, end the upstream's side.
		lc.abortUpstream()
		err = &bodycopy.Error{Side: bodycopy.SideWrite, Err: net.ErrClosed}
	} else {
		lc.takeWriter()
		n, err = lc.relayBody(lc.bw, st.res.Body, st.res.ContentLength, st.src, st.chunked, st.res.Trailer)
		if err == errLeanParked {
			st.n += n
			lc.st = st
			lc.park()
			return
		}
	}
	lc.takeWriter() // a failure may have happened with the buffer lent
	keep := lc.endExchange(&lc.req, st.d, st.start, st.res, st.chunked, st.keep, st.n+n, err)
	if !keep {
		lc.end()
		return
	}
	lc.lendWriter()
	lc.loop()
}
