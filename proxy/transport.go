package proxy

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/sockproxylab/sockproxy/internal/wire"
)

// DefaultMaxConns is the concurrency a transport is sized for when the
// caller gives none.
const DefaultMaxConns = 64

// DialTimeout bounds each connect to the upstream socket. A Unix connect
// either succeeds at once or fails at once (missing socket, refused); a
// timeout only fires when the listener's backlog is full.
const DialTimeout = 5 * time.Second

// NewTransport returns an HTTP/1.1 transport whose every connection is a
// fresh connect to the Unix socket at path socket, whatever the request's
// host. Nothing is cached between requests but idle connections: when the
// socket is missing each request fails to dial, and the first request after
// it appears succeeds.
//
// The transport keeps up to maxConns idle connections (MaxIdleConns and
// MaxIdleConnsPerHost; maxConns <= 0 means [DefaultMaxConns]). Go's default
// of 2 idle connections per host makes a proxy serving more than 2 clients
// at once close and redial the upstream for most requests: measured with 16
// clients, httputil over a default transport reached 0.16× the req/s of
// talking to the socket directly.
//
// Compression is disabled (a proxy relays bodies as they are), HTTP/2 is
// never attempted, no HTTP proxy from the environment is used, and each
// connect is bounded by [DialTimeout]. Upgraded (101) responses expose the
// dialed *net.UnixConn through the body, so half-closes can be passed on.
func NewTransport(socket string, maxConns int) *http.Transport {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	return &http.Transport{
		DialContext:         unixDialer(socket),
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// newDefaultTransport is what most socket proxies ship, the seed included:
// Go's http.DefaultTransport (2 idle connections per host) dialing the
// socket. Proxy is cleared so that an HTTP_PROXY in the environment cannot
// redirect socket traffic; nothing else is changed.
func newDefaultTransport(socket string) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = unixDialer(socket)
	return t
}

// unixDialer dials socket whatever network and address it is asked for.
// The error from a failed dial names the socket path ("dial unix PATH: …").
func unixDialer(socket string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: DialTimeout}
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", socket)
	}
}

// Transport names for Config.Transport.
const (
	// TransportStd is Go's *http.Transport from [NewTransport].
	TransportStd = "std"
	// TransportRaw is the project's own [RawTransport].
	TransportRaw = "raw"
)

// Transports returns the valid Config.Transport names: "std", "raw".
func Transports() []string { return []string{TransportStd, TransportRaw} }

// RawTransport is the project's own HTTP/1.1 http.RoundTripper over a pool
// of raw *net.UnixConn connections to one Unix socket (package
// internal/wire): one reused read buffer per connection and a pooled write
// buffer per request, the response parsed by byte scanning without
// allocating for common keys and values, bodies that a splice strategy can
// splice and an idle stream can wait on without a buffer.
//
// Connections are kept alive and reused, most recent first; an idle one is
// checked for bytes nobody asked for (or its end) before reuse and closed
// after 90 s. A reused connection the upstream had closed is retried when
// nothing unsafe was sent. A request's context bounds its round trip and
// body; a 101's Body is the connection, with CloseWrite. A connection goes
// back to the pool only after its response body was read to its exact end
// and the request body fully sent. Not supported (none is used by the
// Docker API): request trailers are dropped, Expect: 100-continue does not
// hold back the body, and transfer codings other than chunked fail the
// round trip.
type RawTransport = wire.Transport

// NewRawTransport returns a [RawTransport] dialing socket, keeping up to
// maxConns idle connections (maxConns <= 0 means [DefaultMaxConns]), each
// connect bounded by [DialTimeout].
func NewRawTransport(socket string, maxConns int) *RawTransport {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	return wire.NewTransport(socket, maxConns, DialTimeout)
}
