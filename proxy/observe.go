package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockproxylab/sockproxy/dockerapi"
	"github.com/sockproxylab/sockproxy/policy"
)

// Observer sees every request a proxy serves and the long-lived streams it
// holds: what metrics and an access log are built on (see package
// internal/metrics). A proxy whose Observer is nil calls nothing and pays
// nothing.
//
// Both methods are called on the request's goroutine (Stream also on a
// parked stream's); they must be safe for concurrent use, must not block,
// and should not allocate: they run once or twice per request.
type Observer interface {
	// Observe is called once per request, when the proxy is done with
	// it: after the response (or its abort) for an ordinary request, when
	// the stream ends for an upgraded one, and when a parked stream's
	// handler returns (what the stream relays after that is not in the
	// Outcome). It must not keep o.Req.
	Observe(o Outcome)
	// Stream is called with delta +1 when a stream of kind k starts and
	// −1 when it ends. A parked stream starts while its request's handler
	// runs, and ends once its client connection has been closed or handed
	// back to the server (so that a server may be closed after the last
	// −1 without a connection reaching it late).
	Stream(k StreamKind, delta int)
}

// StreamKind names what an [Observer.Stream] call counts.
type StreamKind uint8

const (
	// StreamActive is a request whose handler is running.
	StreamActive StreamKind = iota
	// StreamUpgraded is an upgraded connection (attach, exec) being relayed.
	StreamUpgraded
	// StreamParked is a parked stream (see ReverseProxy.ParkIdle).
	StreamParked
)

// String returns "active", "upgraded" or "parked".
func (k StreamKind) String() string {
	switch k {
	case StreamActive:
		return "active"
	case StreamUpgraded:
		return "upgraded"
	case StreamParked:
		return "parked"
	}
	return "unknown"
}

// Verdict is what the policy decided about a request.
type Verdict uint8

const (
	// Unchecked: the proxy has no policy; the request was forwarded.
	Unchecked Verdict = iota
	// Allowed: the policy granted the request.
	Allowed
	// Denied: the policy refused it; it never reached the upstream.
	Denied
)

// String returns "unchecked", "allowed" or "denied".
func (v Verdict) String() string {
	switch v {
	case Allowed:
		return "allowed"
	case Denied:
		return "denied"
	}
	return "unchecked"
}

// Outcome is what an [Observer] learns about one request.
type Outcome struct {
	// Req is the inbound request. Observe must not keep it, nor log its
	// header (X-Registry-Auth carries credentials).
	Req *http.Request
	// Op is the Docker Engine API operation, from the policy's decision
	// or, without a policy, from dockerapi.ClassifyRequest (Unknown for
	// a request dockerd would route nowhere).
	Op dockerapi.Op
	// Verdict is the policy's; Rule cites the rule that denied (only for
	// Denied).
	Verdict Verdict
	Rule    string
	// Status is the status of the final response sent: 101 for an
	// upgrade, 0 when none was sent (the client left first).
	Status int
	// BytesIn counts request body bytes read from the client; BytesOut
	// response body bytes written to it. Bytes relayed after the client
	// connection was hijacked (upgraded streams, parked streams after they
	// parked) are not counted.
	BytesIn, BytesOut int64
	// Duration runs from the request's arrival at the proxy's handler to
	// the Observe call.
	Duration time.Duration
}

// observedServe is the observed form of a proxy's ServeHTTP: it decides
// the request by pol (as allowed does), classifies it, counts its bytes
// and status through a wrapped ResponseWriter and body, and reports the
// Outcome to obs. next forwards an allowed request.
func observedServe(obs Observer, pol *policy.Policy, rw http.ResponseWriter, req *http.Request, logf func(string, ...any), next func(http.ResponseWriter, *http.Request)) {
	start := time.Now()
	obs.Stream(StreamActive, 1)
	out := Outcome{Req: req}
	if pol != nil {
		d := decide(pol, rw, req, logf)
		out.Op = d.Op
		if !d.Allowed {
			out.Verdict, out.Rule, out.Status = Denied, d.Rule, d.Status
			out.Duration = time.Since(start)
			obs.Stream(StreamActive, -1)
			obs.Observe(out)
			return
		}
		out.Verdict = Allowed
	} else {
		m, _ := dockerapi.ClassifyRequest(req)
		out.Op = m.Op
	}

	var body *countingBody
	if req.Body != nil && req.Body != http.NoBody {
		// Rare (create, build, load), and a transport may still read it
		// after the handler returns: its own allocation, never pooled.
		body = &countingBody{rc: req.Body}
		req.Body = body
	}
	w := observedWriters.Get().(*observedWriter)
	w.rw = rw
	defer func() {
		// Runs on a panic too (an aborted response), which goes on.
		out.Status, out.BytesOut = w.status, w.n
		if body != nil {
			out.BytesIn = body.n.Load()
		}
		out.Duration = time.Since(start)
		if !w.hijacked {
			// A hijacked connection may still be written through
			// something that kept w; only an unhijacked one is reused.
			*w = observedWriter{}
			observedWriters.Put(w)
		}
		obs.Stream(StreamActive, -1)
		obs.Observe(out)
	}()
	next(w, req)
}

// observeStream brackets an upgraded or parked stream for p's Observer, if any.
func (p *ReverseProxy) observeStream(k StreamKind, delta int) {
	if p.Observer != nil {
		p.Observer.Stream(k, delta)
	}
}

var observedWriters = sync.Pool{New: func() any { return new(observedWriter) }}

// observedWriter is a ResponseWriter that records the final status and
// counts body bytes, passing on every optional interface the proxy and
// net/http rely on: flushing, hijacking, full duplex, and ReadFrom (which
// is how net/http's writer splices into a TCP client).
type observedWriter struct {
	rw       http.ResponseWriter
	status   int
	n        int64
	hijacked bool
}

func (w *observedWriter) Header() http.Header { return w.rw.Header() }

func (w *observedWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.rw.WriteHeader(code)
}

func (w *observedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.rw.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom passes on to the underlying writer's ReadFrom (net/http's
// splices or sends a file into a TCP connection).
func (w *observedWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.rw.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{w.rw}, r)
	}
	w.n += n
	return n, err
}

// FlushError flushes the underlying writer.
func (w *observedWriter) FlushError() error { return flush(w.rw) }

// Flush flushes the underlying writer.
func (w *observedWriter) Flush() { flush(w.rw) }

// EnableFullDuplex enables full duplex on the underlying writer.
func (w *observedWriter) EnableFullDuplex() error {
	enableFullDuplex(w.rw)
	return nil
}

// Hijack takes the connection over. A status not yet written is taken to
// be the 101 of an upgrade, which the proxy writes by hand.
func (w *observedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.hijacked = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return conn, brw, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *observedWriter) Unwrap() http.ResponseWriter { return w.rw }

// countingBody counts the bytes read from a request body; a transport may
// read it on a goroutine of its own.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }
