package proxy

import (
	"io"
	"net/http"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/wire"
)

// plan is how one response's body goes to the client, decided once from
// the request, the response and the strategy (planResponse) and then only
// carried out: the framing the client gets, where the strategy writes, which
// strategy copies, and whether the stream may be parked.
type plan struct {
	// body: a body follows the header (not HEAD, 204 or 304).
	body bool
	// identity: the client gets the body close-delimited
	// ("Transfer-Encoding: identity") so that a chunked bulk body's payload
	// can be spliced into its connection (see splice.go); otherwise net/http
	// frames it (Content-Length, or chunked for an HTTP/1.1 client).
	identity bool
	// stream: the header is flushed at once and the body after every write
	// (no Content-Length, or a server-sent event stream).
	stream bool
	// hideReaderFrom: the destination is a plain io.Writer, so that a
	// splice strategy counts the copy as the fallback it is (a client not
	// on TCP cannot be spliced into).
	hideReaderFrom bool
	// copier copies the body: the strategy, or Pooled for a small stream
	// that is not a splice strategy's to splice (events, logs, build
	// output).
	copier bodycopy.Strategy
	// park is the body of a stream that may be parked (see park.go), or nil.
	park *wire.ChunkedBody
}

// planResponse decides how res's body goes to req's client with strategy
// s. outreqBody tells whether a request body was sent on (a stream with
// one is never parked: after a hijack the request body is gone); parkIdle
// is ReverseProxy.parkIdle's answer (negative: never park).
func planResponse(req *http.Request, res *http.Response, s bodycopy.Strategy, outreqBody bool, parkIdle int64) plan {
	pl := plan{body: hasBody(req, res), copier: s}
	if !pl.body {
		return pl
	}
	_, splicer := s.(bodycopy.Splicer)
	// A chunked bulk body without trailers is offered to a splice
	// strategy; it is spliced when the client can be answered
	// close-delimited over TCP and the body comes span by span.
	offered := splicer && res.ContentLength < 0 && len(res.Trailer) == 0 && isBulk(res.Header.Get("Content-Type"))
	_, spans := res.Body.(bodycopy.SpliceSource)
	pl.identity = offered && spans && req.ProtoAtLeast(1, 1) && tcpClient(req)
	pl.stream = !pl.identity && isStream(res)
	pl.hideReaderFrom = !pl.identity && !pl.stream && splicer && !tcpClient(req)
	if res.ContentLength < 0 && !offered && splicer {
		pl.copier = bodycopy.Pooled
	}
	if pl.stream && parkIdle >= 0 && !outreqBody && req.ProtoAtLeast(1, 1) && !req.ProtoAtLeast(2, 0) {
		pl.park, _ = res.Body.(*wire.ChunkedBody)
	}
	return pl
}

// destination returns where the plan's copier writes: rw itself, or a
// writer that flushes (a stream), splices close-delimited (identity) or
// hides rw's ReadFrom. It flushes the header first where the plan says so:
// a client waiting on the header (docker run waits for /wait's before
// attaching) must not wait for the first body byte.
func (pl *plan) destination(rw http.ResponseWriter) io.Writer {
	switch {
	case pl.identity:
		flush(rw)
		return &identityWriter{flushWriter{w: rw}}
	case pl.stream:
		flush(rw)
		return &flushWriter{w: rw}
	case pl.hideReaderFrom:
		return writerOnly{rw}
	}
	return rw
}
