package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Transport is an HTTP/1.1 http.RoundTripper over a pool of raw
// *net.UnixConn connections to one Unix socket, whatever the request's
// host. It is the lean alternative to Go's http.Transport: one reused
// bufio.Reader per connection (lent to a pool while its body waits), a
// pooled bufio.Writer while a request is written, the response parsed by byte scanning with
// common header keys and repeated values taken without allocating.
//
// Connections are kept alive and reused, most recent first, up to the
// concurrency it was sized for; idle ones older than 90 s are closed
// when met. A pooled connection the upstream closed while idle (the
// request cannot be written, or the read ends before any response byte)
// is retried on another connection when that is safe: nothing of the
// request reached the upstream, or the method is idempotent and the
// request has no body.
//
// A request's context bounds its round trip and its response body: when
// it is done the connection is closed, which unblocks any read, and the
// error wraps ctx.Err(). 1xx responses other than 101 are passed to the
// context's httptrace.ClientTrace Got1xxResponse, if any. A 101 response's
// Body is an io.ReadWriteCloser over the connection (bytes the upstream
// sent after the 101 first) with a CloseWrite that half-closes the
// *net.UnixConn; the context no longer affects it.
//
// Response bodies: a Content-Length body is one span for a copy strategy
// that splices (copy.SpliceSource), the connection under it; a chunked body is decoded (a
// truncated or malformed chunk stream is an error, never a clean EOF) and
// its trailers fill Response.Trailer at its end; a body with neither is
// read until the upstream closes. A connection goes back to the pool only
// after its response body was read to its exact end and the request body
// fully sent; an early Close or any failure closes it instead.
//
// Not supported (none is used by the Docker API): request trailers are
// dropped, Expect: 100-continue does not hold back the body, and transfer
// codings other than chunked fail the round trip.
type Transport struct {
	socket  string
	maxIdle int
	dialer  net.Dialer

	mu   sync.Mutex
	idle []*conn // most recently used last

	// headers holds cleared response header maps the caller gave back
	// (Release): a map of a dozen keys is four allocations.
	headers sync.Pool

	dials, dialErrors atomic.Uint64 // for Stats
}

// Release takes back the header map of a response this transport returned,
// once the caller has relayed it: nothing may use res.Header after (value
// slices may live on, they are not reused). Releasing is optional; it
// spares the next response the map's allocations.
func (t *Transport) Release(res *http.Response) {
	if h := res.Header; h != nil {
		res.Header = nil
		clear(h)
		t.headers.Put(h)
	}
}

// Stats describes a transport's upstream connections.
type Stats struct {
	// Idle is the number of idle connections in the pool.
	Idle int
	// Dials counts connects to the upstream socket; DialErrors those that
	// failed (a missing socket, a refused connect).
	Dials, DialErrors uint64
}

// Stats returns the pool's size and dial counts.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	idle := len(t.idle)
	t.mu.Unlock()
	return Stats{Idle: idle, Dials: t.dials.Load(), DialErrors: t.dialErrors.Load()}
}

// NewTransport returns a [Transport] dialing socket, keeping up to maxIdle
// idle connections (at least one), each connect bounded by dialTimeout.
func NewTransport(socket string, maxIdle int, dialTimeout time.Duration) *Transport {
	return &Transport{socket: socket, maxIdle: max(maxIdle, 1), dialer: net.Dialer{Timeout: dialTimeout}}
}

// CloseIdleConnections closes the idle connections.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, rc := range idle {
		rc.c.Close()
	}
}

// getConn returns an idle connection (reused true) or dials one.
func (t *Transport) getConn(ctx context.Context) (*conn, bool, error) {
	var stale []*conn
	t.mu.Lock()
	var rc *conn
	now := time.Now()
	for len(t.idle) > 0 {
		c := t.idle[len(t.idle)-1]
		t.idle[len(t.idle)-1] = nil
		t.idle = t.idle[:len(t.idle)-1]
		if now.Sub(c.idleSince) > idleTimeout {
			stale = append(stale, c)
			continue
		}
		rc = c
		break
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
	if rc != nil {
		if !rc.unsolicited() {
			return rc, true, nil
		}
		rc.close()
		return t.getConn(ctx)
	}
	t.dials.Add(1)
	c, err := t.dialer.DialContext(ctx, "unix", t.socket)
	if err != nil {
		t.dialErrors.Add(1)
		return nil, false, err
	}
	return newConn(t, c.(*net.UnixConn)), false, nil
}

// putIdle returns rc to the pool, or closes it when the pool is full or
// the upstream sent more than its response (bytes already buffered).
func (t *Transport) putIdle(rc *conn) {
	if rc.br != nil && rc.br.Buffered() > 0 {
		rc.close()
		return
	}
	rc.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, rc)
		rc = nil
	}
	t.mu.Unlock()
	if rc != nil {
		rc.close()
	}
}

// RoundTrip sends req on a pooled or new connection and reads the
// response header; see [Transport] for bodies, retries and
// cancellation.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.RoundTripInformed(req, nil)
}

// Informer receives the 1xx responses (other than 101) read before the
// final one, on the goroutine of RoundTrip and before it returns. The
// proxy uses it instead of an httptrace.ClientTrace, which costs a
// context and a request copy per request.
type Informer interface {
	Got1xx(code int, header http.Header) error
}

// An Aborter is an Informer that is also given, while the round trip waits
// for the response head, the function that aborts it (it closes the
// connection, so the round trip fails at once), and nil once the head has
// arrived or the round trip failed. A server that owns its client
// connection uses it to abort the round trip of a client that left, with
// no request context to allocate. The abort may be called from any
// goroutine.
type Aborter interface {
	Informer
	Attach(abort *func())
}

// RoundTripInformed is RoundTrip with 1xx responses passed to inf (when
// not nil) instead of the context's ClientTrace.
func (t *Transport) RoundTripInformed(req *http.Request, inf Informer) (*http.Response, error) {
	ctx := req.Context()
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	if body == nil && req.ContentLength > 0 {
		return nil, fmt.Errorf("raw transport: %s %s: ContentLength %d with no Body", req.Method, req.URL, req.ContentLength)
	}
	for {
		if err := ctx.Err(); err != nil {
			closeIfAny(body)
			return nil, fmt.Errorf("raw transport: %s %s: %w", req.Method, req.URL.Path, err)
		}
		rc, reused, err := t.getConn(ctx)
		if err != nil {
			closeIfAny(body)
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			return nil, fmt.Errorf("raw transport: %s %s: %w", req.Method, req.URL.Path, err)
		}
		res, retry, err := t.roundTrip(ctx, rc, req, body, reused, inf)
		if err == nil {
			return res, nil
		}
		if retry {
			continue
		}
		closeIfAny(body)
		return nil, fmt.Errorf("raw transport: %s %s: %w", req.Method, req.URL.Path, err)
	}
}

func closeIfAny(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// isIdempotent reports whether a method may be sent twice (RFC 9110
// section 9.2.2).
func isIdempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// roundTrip is one attempt on rc. retry says the request can be sent again
// on another connection: rc was reused, failed before any response byte,
// and nothing unsafe was sent.
func (t *Transport) roundTrip(ctx context.Context, rc *conn, req *http.Request, body io.ReadCloser, reused bool, inf Informer) (*http.Response, bool, error) {
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, rc.abort)
	}
	if a, ok := inf.(Aborter); ok {
		a.Attach(&rc.abort)
		defer a.Attach(nil)
	}
	fail := func(err error) error {
		if stop != nil {
			stop()
		}
		rc.close()
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return err
	}

	// The write buffer is the connection's only while a request is being
	// written: an idle connection, or one carrying a long stream, holds
	// none.
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(rc.io)
	chunked, err := writeRequestHead(bw, req, body)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil || body == nil {
		putWriter(bw)
	}
	if err != nil {
		// Nothing of the body was read yet, and a write to a Unix socket
		// whose peer has closed fails at once, before any byte reaches
		// it: any request can go again on another connection.
		if reused && ctx.Err() == nil && isWriteRefused(err) {
			if stop != nil {
				stop()
			}
			rc.close()
			return nil, true, err
		}
		return nil, false, fail(fmt.Errorf("writing request to %s: %w", t.socket, err))
	}

	// wrote is the body writer's result; nil when there is no body.
	var wrote chan error
	if body != nil {
		wrote = make(chan error, 1)
		go func() {
			err := writeBody(bw, body, req.ContentLength, chunked)
			putWriter(bw)
			if err != nil {
				// The upstream waits for the rest of a body that will not
				// come (the client's body failed, or the connection did):
				// close, so that the response read returns and the round
				// trip fails instead of hanging.
				rc.close()
			}
			wrote <- err
		}()
	}

	res, err := rc.readResponse(req, inf)
	if err != nil {
		gotNothing := errors.Is(err, errNoResponse)
		if wrote != nil {
			rc.close() // a writer blocked on the connection returns
			if werr := <-wrote; werr != nil && !gotNothing {
				err = fmt.Errorf("%w (writing the request body: %w)", err, werr)
			}
		}
		if gotNothing && reused && body == nil && isIdempotent(req.Method) && ctx.Err() == nil {
			if stop != nil {
				stop()
			}
			rc.close()
			return nil, true, err
		}
		return nil, false, fail(fmt.Errorf("reading response from %s: %w", t.socket, err))
	}

	if res.StatusCode == http.StatusSwitchingProtocols {
		// Only an upgrade the request asked for, naming a protocol, may
		// take the connection over; anything else would become a tunnel.
		if UpgradeType(req.Header) == "" || UpgradeType(res.Header) == "" {
			return nil, false, fail(fmt.Errorf("%w: 101 Switching Protocols from %s to a request that asked for no upgrade, or naming no protocol", errMalformed, t.socket))
		}
		// The connection is the stream's now: the context no longer
		// closes it, and the request body must be out first.
		if stop != nil && !stop() {
			return nil, false, fail(fmt.Errorf("upgrading %s: %w", t.socket, ctx.Err()))
		}
		if wrote != nil {
			if err := <-wrote; err != nil {
				rc.close()
				return nil, false, fmt.Errorf("writing request body to %s: %w", t.socket, err)
			}
		}
		res.Body = &UpgradeBody{rc: rc}
		return res, false, nil
	}
	if err := rc.frame(ctx, res, req, stop, wrote); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, false, fmt.Errorf("reading response from %s: %w", t.socket, err)
	}
	return res, false, nil
}

// isWriteRefused reports whether a write failed because the peer had
// already closed: nothing was delivered.
func isWriteRefused(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// errNoResponse is a connection that ended before any response byte.
var errNoResponse = errors.New("connection closed before any response byte")
