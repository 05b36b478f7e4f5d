package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockproxylab/sockproxy/internal/wire"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/policy"
)

// ReverseProxy is an HTTP handler that sends each request to one upstream
// through Transport and copies the response back with Strategy. It is a
// Director-only relative of [httputil.ReverseProxy]: no Rewrite, no
// ModifyResponse, no BufferPool (buffers belong to the Strategy).
//
// It removes hop-by-hop headers in both directions (those of RFC 9110 and
// any named in Connection), appends the client's address to
// X-Forwarded-For, forwards 1xx responses and trailers, flushes streams
// (no Content-Length) after the header and after every write, aborts the
// client's response when the upstream body fails, and relays protocol
// upgrades (Docker's attach and exec) in both directions with half-closes.
//
// The zero ReverseProxy is usable but sends to http.DefaultTransport; set
// Transport to one from [NewTransport] to reach a Unix socket.
type ReverseProxy struct {
	// Director rewrites the outbound request, a copy of the inbound one
	// with its own URL, Header and Trailer (the body and parsed forms are
	// shared, read-only), before hop-by-hop headers are removed. It must
	// not keep the request after returning: with a [RawTransport] the
	// outbound request of a bodyless request is reused once the response
	// is relayed.
	//
	// If nil, the outbound URL gets scheme "http" and host [DefaultHost],
	// which suits a Transport that dials one fixed socket.
	Director func(*http.Request)

	// Transport performs the outbound requests. For upgrades it must return
	// the 101 response's Body as an io.ReadWriteCloser (as *http.Transport
	// does) and, for half-closes to reach the upstream, that body must have
	// a CloseWrite method (*http.Transport's does when the dialed connection
	// has one, as a *net.UnixConn does).
	//
	// If nil, http.DefaultTransport is used.
	Transport http.RoundTripper

	// Strategy copies response bodies and both directions of upgraded
	// streams.
	//
	// If nil, copy.Alloc (a fresh 32 KiB buffer per copy, as httputil) is
	// used.
	Strategy bodycopy.Strategy

	// ErrorLog receives one line per failed request, naming the side that
	// failed (client or upstream) and why.
	//
	// If nil, the log package's standard logger is used.
	ErrorLog *log.Logger

	// ErrorHandler answers a request whose upstream round trip failed
	// (dial error, upstream closed before answering, bad upgrade). It is
	// not called once the response header has been sent: a failure after
	// that aborts the response instead.
	//
	// If nil, the error is logged to ErrorLog and the client gets
	// 502 Bad Gateway with the error's text as body.
	ErrorHandler func(http.ResponseWriter, *http.Request, error)

	// ParkIdle is how long a chunked stream from a [RawTransport] (events,
	// logs -f, wait) may stay idle before it is parked: its client
	// connection is hijacked and the stream relayed by two small
	// goroutines, so that ServeHTTP returns and net/http's per-request
	// buffers and goroutines are freed (see park.go). After its last
	// chunk the connection goes back to the *http.Server that served the
	// request (keep-alive is kept), or is closed where it cannot.
	//
	// If zero, [DefaultParkIdle] is used; a negative ParkIdle never parks.
	// The lean front end parks a stream that an event resumed again only
	// after at least 50 ms.
	ParkIdle time.Duration

	// Policy decides, before anything reaches the upstream, which Docker
	// Engine API operations a request may run (see package policy). A
	// refused request gets the decision's status (403, or 400 for a path
	// dockerd would not route as it stands) with dockerd's error body
	// {"message":"…"}, and one audit line in ErrorLog; it never reaches
	// the upstream, pipelined, upgrading or not.
	//
	// If nil, every request is forwarded.
	Policy *policy.Policy

	// Observer, if not nil, sees every request (its operation, verdict,
	// status, bytes and duration) and the upgraded and parked streams:
	// metrics and the access log (see observe.go).
	Observer Observer
}

// Hop-by-hop headers, removed in both directions (RFC 9110 section 7.6.1,
// plus the non-standard ones httputil removes).
var hopHeaders = []string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// ServeHTTP proxies one request.
func (p *ReverseProxy) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if p.Observer != nil {
		observedServe(p.Observer, p.Policy, rw, req, p.logf, p.forward)
		return
	}
	if p.Policy != nil && !decide(p.Policy, rw, req, p.logf).Allowed {
		return
	}
	p.forward(rw, req)
}

// forward proxies one request the policy allowed.
func (p *ReverseProxy) forward(rw http.ResponseWriter, req *http.Request) {
	transport := p.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}

	reqUpType := wire.UpgradeType(req.Header)
	if !isPrint(reqUpType) {
		p.fail(rw, req, fmt.Errorf("client tried to switch to invalid protocol %q", reqUpType))
		return
	}

	// The round trip keeps the request's context, upgrades included: a
	// client that leaves before the upstream answers cancels it (net/http
	// sees its end in the background read). Only a stream that has
	// switched protocols outlives it (see serveUpgrade). TCP cannot tell a
	// client that half-closed from one that left, so a client that
	// half-closes before the 101 arrives is taken as gone; the docker CLI
	// and docker-py read the 101 before they half-close.

	if req.ContentLength != 0 {
		// Full duplex: net/http's server would otherwise discard the rest
		// of the request body when the response header is written (an
		// upstream that answers while it still reads would get a short
		// body that looks complete), and would hold that header until the
		// client sent more.
		enableFullDuplex(rw)
	}

	raw, _ := transport.(informingTransport)
	o := newOutbound(req, raw != nil && reqUpType == "" && req.ContentLength == 0)
	outreq := &o.req
	if req.ContentLength == 0 {
		outreq.Body = nil // lets the transport retry a request with no body
	}
	if outreq.Body != nil {
		// The transport closes the outbound body when it fails to connect;
		// that must not close the inbound body (they share it), whose
		// Close would wait for a body the client has not sent yet.
		o.body.rc = outreq.Body
		outreq.Body = &o.body
		defer outreq.Body.Close()
	}

	if p.Director != nil {
		p.Director(outreq)
	} else {
		defaultDirector(outreq)
	}
	outreq.Close = false
	if outreq.Header == nil {
		outreq.Header = make(http.Header) // the Director dropped it
	}

	removeHopByHopHeaders(outreq.Header)
	setForwarding(outreq.Header, req, wire.HasToken(req.Header["Te"], "trailers"), reqUpType, o.value)
	if _, ok := outreq.Header["User-Agent"]; !ok {
		outreq.Header["User-Agent"] = o.value("") // not Go's default
	}

	var (
		res *http.Response
		err error
	)
	if raw != nil {
		// The raw transport reads 1xx responses on this goroutine, before
		// RoundTrip returns: they go straight to rw, with no ClientTrace
		// and no derived context to allocate.
		o.rw = rw
		res, err = raw.RoundTripInformed(outreq, o)
	} else {
		res, err = roundTripTraced(transport, outreq, rw)
	}
	if err != nil {
		p.fail(rw, outreq, err)
		return
	}

	if res.StatusCode == http.StatusSwitchingProtocols {
		p.observeStream(StreamUpgraded, 1)
		p.serveUpgrade(rw, req, res, reqUpType)
		p.observeStream(StreamUpgraded, -1)
		return
	}
	if o.pooled {
		// Nothing keeps the outbound request or the response's header map
		// once the response is relayed (rw's header shares only their
		// value slices), whichever way ServeHTTP ends.
		defer o.release(raw, res)
	}

	removeHopByHopHeaders(res.Header)
	copyHeader(rw.Header(), res.Header)
	// *http.Transport does not keep the Trailer header; rebuild it from the
	// announced trailer keys.
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		rw.Header().Add("Trailer", strings.Join(keys, ", "))
	}

	pl := planResponse(req, res, p.strategy(), outreq.Body != nil, int64(p.parkIdle()))
	if pl.identity {
		// Close-delimited, so that the chunks' payload can be spliced
		// (see splice.go); net/http drops the header itself.
		rw.Header().Set("Transfer-Encoding", "identity")
	}
	rw.WriteHeader(res.StatusCode)

	if pl.body {
		dst := pl.destination(rw)
		var err error
		if pl.park != nil {
			var parked bool
			if parked, err = p.copyStream(rw, req, res, pl.park, pl.copier, dst); parked {
				return // the parked stream's goroutine relays the rest
			}
		} else {
			_, err = pl.copier.Copy(req.Context(), dst, res.Body, res.ContentLength)
		}
		if err != nil {
			res.Body.Close()
			p.logCopyError(req, err)
			if pl.identity || closeDelimitedTo(req, res) {
				// A close-delimited body cannot end short: reset.
				resetClient(rw)
				return
			}
			// Deliver what arrived, then abort: the client must see a
			// truncated body as a failure (no final chunk, short
			// Content-Length), never as a clean end.
			flush(rw)
			panic(http.ErrAbortHandler)
		}
	}
	res.Body.Close() // now, not deferred: it fills res.Trailer

	if len(res.Trailer) > 0 {
		// Force chunking so net/http does not compute a Content-Length
		// for a short body and lose the trailers.
		flush(rw)
	}
	if len(res.Trailer) == announced {
		copyHeader(rw.Header(), res.Trailer)
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			rw.Header().Add(k, v)
		}
	}
}

// CloseIdleConnections closes the Transport's idle upstream connections,
// when it has such a method.
func (p *ReverseProxy) CloseIdleConnections() {
	t := p.Transport
	if t == nil {
		t = http.DefaultTransport
	}
	if c, ok := t.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (p *ReverseProxy) strategy() bodycopy.Strategy {
	if p.Strategy != nil {
		return p.Strategy
	}
	return bodycopy.Alloc
}

func (p *ReverseProxy) logf(format string, args ...any) {
	if p.ErrorLog != nil {
		p.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// fail answers a request that got no usable upstream response.
func (p *ReverseProxy) fail(rw http.ResponseWriter, req *http.Request, err error) {
	if p.ErrorHandler != nil {
		p.ErrorHandler(rw, req, err)
		return
	}
	p.logf("proxy: upstream failed: %s %s: %v", req.Method, req.URL.RequestURI(), err)
	http.Error(rw, "proxy: upstream: "+err.Error(), http.StatusBadGateway)
}

// logCopyError logs a failed body copy, naming the side that failed.
func (p *ReverseProxy) logCopyError(req *http.Request, err error) {
	p.logBodyFailure(req.Context(), req.Method, req.URL.RequestURI(), err)
}

// logBodyFailure is logCopyError for a request known by its method and
// URI (a parked stream's, whose request is gone); ctx is the copy's.
func (p *ReverseProxy) logBodyFailure(ctx context.Context, method, uri string, err error) {
	f := copyFailure(ctx, err, "upstream", "client")
	p.logf("proxy: %s failed during body: %s %s: %s: %v", f.side, method, uri, f.op, f.err)
}

// copyFailure names the sides of a failed copy from src to dst (each
// "upstream" or "client"): who failed, what failed, and why. The copy
// package speaks of its source and destination; this is the one place the
// proxy puts its own names on them. A read failure is src's, a write
// failure dst's, a copy ended by ctx the client's (it left, and the
// request's context ended with it); any other failure (one inside
// splice(2), between both sockets) is the copy's.
func copyFailure(ctx context.Context, err error, src, dst string) *streamError {
	var ce *bodycopy.Error
	if errors.As(err, &ce) {
		switch ce.Side {
		case bodycopy.SideRead:
			return &streamError{src, "reading " + src, ce.Err}
		case bodycopy.SideWrite:
			return &streamError{dst, "writing " + dst, ce.Err}
		}
	}
	side := "copy"
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		side = "client"
	}
	return &streamError{side, "copying " + src + " to " + dst, err}
}

// setForwarding sets, in the outbound header h (its hop-by-hop fields
// already removed), what a proxy adds on the way to the upstream for the
// inbound request in: no Expect for an HTTP/1.0 client (RFC 9110 section
// 10.1.1: its 100-continue expectation is ignored, and the outbound
// request is HTTP/1.1, whose upstream would answer it); "Te: trailers"
// when the client asked for trailers (te), since the proxy passes them
// on; the upgrade, the one hop-by-hop request the upstream must see; and
// the client's address appended to X-Forwarded-For (a nil value there
// means "do not set", as in httputil). value makes the one-value slice of
// a string.
func setForwarding(h http.Header, in *http.Request, te bool, reqUpType string, value func(string) []string) {
	if !in.ProtoAtLeast(1, 1) {
		delete(h, "Expect")
	}
	if te {
		h.Set("Te", "trailers")
	}
	if reqUpType != "" {
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", reqUpType)
	}
	if clientIP, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		prior, ok := h["X-Forwarded-For"]
		omit := ok && prior == nil
		if len(prior) > 0 {
			clientIP = strings.Join(prior, ", ") + ", " + clientIP
		}
		if !omit {
			h["X-Forwarded-For"] = value(clientIP)
		}
	}
}

// hasBody reports whether the response may carry a body to copy.
func hasBody(req *http.Request, res *http.Response) bool {
	if req.Method == http.MethodHead || res.Body == nil || res.Body == http.NoBody {
		return false
	}
	switch res.StatusCode {
	case http.StatusNoContent, http.StatusNotModified:
		return false
	}
	return true
}

// isStream reports whether the response must be flushed as it goes: it has
// no Content-Length (Docker's events, logs, wait, save and export), or is a
// server-sent event stream.
func isStream(res *http.Response) bool {
	if res.ContentLength < 0 {
		return true
	}
	// Parse only what can be an event stream: ParseMediaType allocates,
	// and its media type is the value's trimmed, lower-cased start.
	const sse = "text/event-stream"
	v := res.Header.Get("Content-Type")
	if t := strings.TrimSpace(v); len(t) < len(sse) || !strings.EqualFold(t[:len(sse)], sse) {
		return false
	}
	ct, _, _ := mime.ParseMediaType(v)
	return ct == sse
}

// decide decides req by pol. A refused request is answered here
// (dockerd's error body) and logged (one audit line through logf).
func decide(pol *policy.Policy, rw http.ResponseWriter, req *http.Request, logf func(string, ...any)) policy.Decision {
	d := pol.Decide(req)
	if !d.Allowed {
		logf("proxy: %s", d.AuditLine(req))
		d.WriteError(rw)
	}
	return d
}

// closeDelimitedTo reports whether net/http answers res to req's client
// close-delimited: an HTTP/1.0 client and a body of unknown length. Such a
// body cannot end short, so a failure must reset the connection.
func closeDelimitedTo(req *http.Request, res *http.Response) bool {
	return !req.ProtoAtLeast(1, 1) && res.ContentLength < 0
}

// enableFullDuplex lets the handler read the request body after it has
// written the response header (http.ResponseController.EnableFullDuplex,
// without allocating a controller for net/http's own writer).
func enableFullDuplex(rw http.ResponseWriter) {
	if fd, ok := rw.(interface{ EnableFullDuplex() error }); ok {
		fd.EnableFullDuplex()
		return
	}
	http.NewResponseController(rw).EnableFullDuplex()
}

// flushWriter flushes after every write. It deliberately has no ReadFrom:
// a stream's pieces must each reach the client as they arrive, which a
// ReadFrom fast path would not do.
type flushWriter struct {
	w http.ResponseWriter
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		return n, err
	}
	if err := flush(f.w); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return n, err
	}
	return n, nil
}

// flush flushes rw as http.ResponseController does, without allocating a
// controller for net/http's own writer (a FlushError method).
func flush(rw http.ResponseWriter) error {
	switch f := rw.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(rw).Flush()
}

// copyHeader adds src's values to dst. A key new to dst gets src's value
// slice itself, capped so that a later append to either copies: headers
// are relayed by the dozen per request, and a slice per key was most of a
// small request's garbage.
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if len(vv) == 0 {
			continue
		}
		k = textproto.CanonicalMIMEHeaderKey(k)
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vv...)
			continue
		}
		dst[k] = vv[:len(vv):len(vv)]
	}
}

// removeHopByHopHeaders removes the headers named in Connection and the
// fixed hop-by-hop set.
func removeHopByHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, f := range hopHeaders {
		h.Del(f)
	}
}

func isPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// noopCloseReader keeps the transport from closing the inbound body, and
// refuses reads after the handler has closed it.
type noopCloseReader struct {
	rc     io.ReadCloser
	closed atomic.Bool
}

func (r *noopCloseReader) Close() error {
	r.closed.Store(true)
	return nil
}

func (r *noopCloseReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, errors.New("proxy: read of the request body after the handler returned")
	}
	return r.rc.Read(p)
}

// informingTransport is a transport that hands 1xx responses to a hook on
// the round trip's goroutine and takes back a relayed response's header
// (the [RawTransport]): the proxy uses it instead of an
// httptrace.ClientTrace, which costs a context and a request copy per
// request, and recycles the header maps.
type informingTransport interface {
	RoundTripInformed(*http.Request, wire.Informer) (*http.Response, error)
	Release(*http.Response)
}

// roundTripTraced sends outreq through transport, forwarding 1xx responses
// to rw through an httptrace.ClientTrace: the way to see them through
// *http.Transport or any other RoundTripper.
func roundTripTraced(transport http.RoundTripper, outreq *http.Request, rw http.ResponseWriter) (*http.Response, error) {
	var (
		mu        sync.Mutex
		roundDone bool
		http10    = !outreq.ProtoAtLeast(1, 1) // not outreq itself: reassigned below, it would escape
	)
	trace := &httptrace.ClientTrace{
		Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			mu.Lock()
			defer mu.Unlock()
			if !roundDone {
				relay1xx(rw, http10, code, http.Header(header))
			}
			return nil
		},
	}
	outreq = outreq.WithContext(httptrace.WithClientTrace(outreq.Context(), trace))
	res, err := transport.RoundTrip(outreq)
	mu.Lock()
	roundDone = true
	mu.Unlock()
	return res, err
}

// outboundVals is how many outbound header values fit in an outbound
// without a separate allocation.
const outboundVals = 16

// outbound is the outbound request with the storage it needs: what
// req.Clone would allocate in five pieces comes in one, or, for a bodyless
// request through a [RawTransport], from a pool.
type outbound struct {
	req    http.Request
	url    url.URL
	header http.Header // kept (cleared) between pooled uses
	vals   [outboundVals]string
	spare  []string // the unused tail of the values' storage
	body   noopCloseReader
	pooled bool
	rw     http.ResponseWriter // where 1xx responses go
}

var outbounds = sync.Pool{New: func() any { return new(outbound) }}

// newOutbound copies req for sending on: a shallow
// copy with its own URL and header (whose value slices are capped, so
// that the Director appending to one cannot touch another). The body,
// form and transfer-encoding are shared as req.Clone would deep-copy them
// only to leave them unused; the Trailer map is cloned. pool takes it from
// the pool, for a caller that calls release once it is done.
func newOutbound(req *http.Request, pool bool) *outbound {
	var o *outbound
	if pool {
		o = outbounds.Get().(*outbound)
	} else {
		o = new(outbound)
	}
	o.pooled = pool
	o.req = *req
	if req.URL != nil {
		o.url = *req.URL
		o.req.URL = &o.url
	}
	if req.Trailer != nil {
		o.req.Trailer = req.Trailer.Clone()
	}

	nv := 0
	for _, vv := range req.Header {
		nv += len(vv)
	}
	h := o.header
	if h == nil {
		// Room for X-Forwarded-For and User-Agent.
		h = make(http.Header, len(req.Header)+2)
		if pool {
			o.header = h
		}
	}
	vals := o.vals[:]
	if nv+2 > len(vals) {
		vals = make([]string, nv+2)
	}
	for k, vv := range req.Header {
		if vv == nil {
			h[k] = nil
			continue
		}
		n := copy(vals, vv)
		h[k] = vals[:n:n]
		vals = vals[n:]
	}
	o.spare = vals
	o.req.Header = h
	return o
}

// value returns the one-value slice of v, from the spare storage when
// there is some.
func (o *outbound) value(v string) []string {
	if len(o.spare) == 0 {
		return []string{v}
	}
	o.spare[0] = v
	s := o.spare[:1:1]
	o.spare = o.spare[1:]
	return s
}

// Got1xx relays a 1xx response to the client; the [RawTransport] calls it
// on ServeHTTP's goroutine, before RoundTrip returns.
func (o *outbound) Got1xx(code int, header http.Header) error {
	relay1xx(o.rw, !o.req.ProtoAtLeast(1, 1), code, header)
	return nil
}

// relay1xx writes a 1xx response to rw, except to an HTTP/1.0 client (RFC
// 9110 section 15.2: no 1xx to an HTTP/1.0 client).
func relay1xx(rw http.ResponseWriter, http10 bool, code int, header http.Header) {
	if http10 {
		return
	}
	h := rw.Header()
	copyHeader(h, header)
	rw.WriteHeader(code)
	clear(h) // WriteHeader does not clear them for 1xx
}

// release returns a pooled outbound to the pool, and res's header map to
// the transport's, once ServeHTTP is done with both.
func (o *outbound) release(t informingTransport, res *http.Response) {
	t.Release(res)
	h := o.header
	clear(h)
	*o = outbound{header: h}
	outbounds.Put(o)
}
