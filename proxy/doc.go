// Package proxy is an HTTP reverse proxy for one upstream Unix socket, above
// all the Docker Engine socket.
//
// # Use
//
// [New] builds a [*Proxy] for a [Setup] (a mode over a transport); serve
// it on any listener and close its idle upstream connections at shutdown:
//
//	p, err := proxy.New(proxy.Config{Socket: "/var/run/docker.sock"})
//	if err != nil { … }
//	defer p.CloseIdleConnections()
//	http.ListenAndServe("127.0.0.1:2375", p)
//
// [Modes] lists the modes: "stdlib" and "stdlib-default" run Go's own
// httputil.ReverseProxy (for comparison), every other name is this
// package's [ReverseProxy] copying bodies with the copy strategy of that
// name, and "lean" is the lean front end. [DefaultMode] is the one the
// latest benchmark results favour: lean. A zero Config served as an
// http.Handler (as above) is [LeanHandlerMode]; [Proxy.Serve] serves the
// lean front end itself.
//
// # Modes
//
//   - stdlib: httputil.ReverseProxy over [NewTransport], the same connection
//     pool as ours, so a comparison isolates the copy path.
//   - stdlib-default: httputil.ReverseProxy over Go's default transport
//     (MaxIdleConnsPerHost 2) dialing the socket: what most socket proxies
//     ship. With more than two concurrent clients it closes and redials the
//     upstream for most requests.
//   - every name of copy.Names: [ReverseProxy] with that Strategy, over the
//     raw transport unless the Setup names "std".
//   - lean: the lean front end over the raw transport ([Proxy.Serve]): the
//     proxy reads HTTP/1.1 requests itself (internal/wire's request reader)
//     and relays chunked bodies with the upstream's own framing, validated
//     as it passes (wire.ChunkedBody.ReadFramed); as an http.Handler
//     it is [LeanHandlerMode]. An answer of its own (a refusal, 400, 502)
//     is reported to the Observer before it is flushed, and its
//     connection closes lingering: the front end reads and drops what the
//     client still sends (the rest of a refused upload) for up to 5 s, so
//     that the client reads the answer instead of failing a write. See
//     lean.go.
//
// # Transports
//
// Config.Transport picks the upstream transport (see [Transports]); a
// [Setup] names a mode and a transport, [Setups] lists the valid pairs. An
// empty transport is [DefaultTransport] of the mode: "raw" for this
// package's ReverseProxy, "std" for the stdlib modes (before, it was "std"
// for every mode).
//
//   - "std": Go's *http.Transport from [NewTransport].
//   - "raw": [RawTransport], HTTP/1.1 over a pool of raw *net.UnixConn with
//     one reused bufio.Reader per connection and a pooled bufio.Writer per
//     request (an idle or streaming connection holds no write buffer), the
//     request written straight into the writer and the response parsed by
//     byte scanning (common header keys and values repeated from the previous
//     response on the connection cost no allocation). It retries a request on a fresh
//     connection only when that is safe (nothing of it reached the upstream,
//     or an idempotent method with no body got no response byte), and gives
//     its Content-Length and chunked bodies as copy.SpliceSources: the bytes
//     already buffered, then an *io.LimitedReader straight over the
//     connection, span by span, for copy strategies that splice.
//
// Mode "stdlib" runs over either transport (httputil.ReverseProxy takes any
// http.RoundTripper), so stdlib over raw against stdlib over std measures
// the transport alone, and pooled over raw against stdlib over raw the
// proxy alone. Mode "stdlib-default" is Go's default transport by definition
// and refuses "raw". The tests of this package run every mode over both
// transports (subtests mode=NAME/transport=T), and both pass the same cases.
//
// # What ReverseProxy guarantees
//
// Each behaviour below is tested for every mode through a real TCP front end
// and a real Unix socket upstream; where Go's proxy fails one, the tests
// record it as a known difference of the stdlib modes.
//
//   - Headers: hop-by-hop headers (RFC 9110's list and any named in
//     Connection) are removed in both directions; the client's address is
//     appended to X-Forwarded-For; 1xx responses and trailers (announced or
//     not) are forwarded; HEAD, 204 and 304 carry no body and keep their
//     Content-Length.
//   - Upgrades (docker attach, docker exec): Connection: Upgrade and
//     Upgrade: tcp reach the upstream; on its 101 the client connection is
//     hijacked before anything is written to it, the 101 is written by hand
//     (no Content-Length), bytes already buffered on either side are
//     forwarded, and both directions are copied until both have ended, each
//     end passed on as a half-close (CloseWrite) while the other direction
//     keeps flowing. A client that half-closes as soon as it has the 101
//     still gets all of the upstream's output. Until the 101 arrives, the
//     round trip keeps the request's context like any other, so a client
//     that leaves cancels it and its upstream connection closes; TCP cannot
//     tell a half-close from a client that left, so a client that
//     half-closes before the 101 is taken as gone (the docker CLI and
//     docker-py read the 101 first). A 101 to a request that asked for no
//     upgrade, naming no protocol or another one gives 502, never a tunnel.
//   - Request bodies: full duplex (http.ResponseController.EnableFullDuplex),
//     so an upstream that answers while it still reads the body (or refuses
//     it early) gets all of it, or has its answer delivered at once, instead
//     of net/http discarding the unread rest when the header is written.
//   - HTTP/1.0 clients get no 1xx response, their Expect: 100-continue is not
//     sent on, and a body of unknown length (close-delimited to them) that
//     fails mid-way ends in a connection reset over TCP, never a clean close.
//   - Connection: close is honoured on every kind of response, parked
//     streams included; a repeated identical Content-Length goes out once
//     (both transports keep one, as Go's does; another RoundTripper's
//     header is relayed as it is).
//   - Streams: a response with no Content-Length (events, logs, wait, save,
//     export) has its header flushed at once and every piece flushed as it
//     is written, so POST /containers/{id}/wait cannot deadlock docker run.
//     Content-Length bodies are not flushed per write and keep their
//     Content-Length; chunked stays chunked (except a bulk body a splice
//     strategy answers close-delimited: see Splice).
//   - Large bodies stream in both directions and are never held whole.
//   - Faults: an upstream that fails mid-body aborts the client's response
//     (http.ErrAbortHandler after flushing what arrived: no final chunk, a
//     short Content-Length), so a truncated docker save never looks complete;
//     a client that leaves cancels the upstream request, closing its
//     connection; a missing or refused socket gives 502 Bad Gateway naming
//     the socket path, and each request dials anew, so the proxy recovers by
//     itself.
//   - Logging: one line per failed request, saying which side failed
//     ("client" or "upstream") and why.
//
// # Access policy
//
// ReverseProxy.Policy (Config.Policy), when set, decides every request
// before anything reaches the upstream, as dockerd would route it (package
// policy over package dockerapi's classifier): a refused request gets 403
// (400 for a path dockerd would not route as it stands) with dockerd's
// error body {"message":"…"}, so the docker CLI prints "Error response from
// daemon: sockproxy: …", and one audit line in ErrorLog; pipelined or
// upgrading, it never reaches the upstream. The stdlib modes decide before
// handing the request to httputil. A nil Policy forwards everything: the
// library stays policy-free unless given one (cmd/sockproxy refuses to
// listen beyond loopback without one).
//
// # Observing
//
// ReverseProxy.Observer (Config.Observer), when set, sees every request once
// it is done — its operation, the policy's verdict, status, body bytes and
// duration — and the upgraded and parked streams as they start and end: what
// metrics and an access log need (see [Observer]). The proxy then serves
// through a ResponseWriter that counts and passes every optional interface on
// (flushing, hijacking, full duplex, ReadFrom, so splicing is unchanged),
// pooled so that an observed request costs no allocation. A nil Observer
// costs nothing.
//
// # Splice
//
// The copy strategies "splice" and "splice-chunked" (copy.Splicer) move
// bytes with splice(2) when the raw transport is used:
//
//   - Content-Length bodies ("splice" only): the bytes buffered with the
//     header are written, the rest goes as an *io.LimitedReader over the
//     *net.UnixConn into net/http's response writer, whose ReadFrom splices
//     into the client's *net.TCPConn. The upstream connection is reused.
//   - Chunked bulk bodies (both): an image save or export
//     (application/x-tar, application/octet-stream) cannot be spliced into
//     a chunked response, because net/http's writer splices only when it
//     does not chunk. The proxy therefore answers it close-delimited
//     ("Transfer-Encoding: identity" to net/http: no length, no chunks, the
//     connection closed after the body), parses the upstream's chunk
//     headers from the connection's buffer and splices each chunk's
//     payload. The trade-off: the client's connection is not kept alive
//     after that response, and a close-delimited body cannot show a
//     truncation by its framing, so on any failure the proxy resets the
//     client connection (SO_LINGER 0, then close): the client sees
//     ECONNRESET, never a clean end. It is done only for TCP clients over
//     HTTP/1.1 and responses without trailers; everything else (events,
//     logs, build output) stays chunked and is copied as Pooled does.
//   - Upgraded streams ("splice" only): the raw transport's connection
//     itself is handed to the strategy after the bytes buffered behind the
//     101, so both directions splice between the sockets (TCPConn.ReadFrom
//     and TCPConn.WriteTo), half-closes included.
//
// Over Go's transport the bodies are not raw sockets, and the splice
// strategies fall back to Pooled's copy (and count it).
//
// # Parked streams
//
// Over the raw transport a chunked stream (events, logs -f, wait, stats)
// that is silent for ReverseProxy.ParkIdle ([DefaultParkIdle], 1ms) is
// parked: the client connection is hijacked, the proxy writes the chunk
// framing itself from then on, and ServeHTTP returns, freeing net/http's
// per-request buffers and goroutines. Two small goroutines remain: one
// waits for the upstream holding no buffer (the Strategy copies each burst
// and returns), one watches for the client's end of the socket without
// reading it. A client that leaves closes the upstream connection; an
// upstream that dies leaves the client a truncated body; a clean end hands
// the connection back to the *http.Server that served it (found through
// http.ServerContextKey), which serves the client's next request on it, so
// keep-alive is kept. Where that cannot be done (no such server, a
// connection that cannot be watched without reading, such as TLS, or bytes
// the client pipelined before the hijack), the connection is closed after
// the last chunk. A request with a body is never parked, nor a body from
// Go's transport, nor a stream answered to HTTP/1.0 or HTTP/2.
//
// The lean front end parks too, with no goroutine at all: an idle stream
// saves what is left of its exchange, gives back its buffers, and hands
// its client and upstream sockets to the server's poller (one goroutine in
// epoll_wait for all of them, lean_poll.go). The first socket to be
// readable resumes the connection on a new goroutine: the client's end
// aborts the stream, anything else relays on, and the connection's next
// requests are served as before (keep-alive needs no hand-back: the front
// end owns the connection). Shutdown waits for parked streams as for any
// exchange in flight; Close, or a Shutdown that runs out of time, closes
// them. Bytes the client pipelined behind the stream keep it unparked.
// A stream an event resumed waits for its next event for at least 50 ms
// before it parks again, so that events in a run are not a wake-up each.
//
// # Half-closes and the transport
//
// *http.Transport returns a 101 response's body as an io.ReadWriteCloser
// whose CloseWrite reaches the dialed connection when that has one;
// [NewTransport] dials a *net.UnixConn, so a client's half-close reaches
// the upstream with no special dialing. [RawTransport]'s 101 body does the
// same on its own connection, after the bytes it had buffered. A Transport whose 101 body cannot
// half-close still works, but the upstream then never sees the client's EOF.
//
// # Layout
//
// One concern per file: proxy.go is the handler (the outbound request, the
// round trip, headers and trailers); plan.go decides once how a response's
// body reaches the client (framing, destination, copier, parking) and the
// handler carries the plan out; splice.go holds the writers a splice
// strategy writes to and the reset of a close-delimited response; park.go
// parks idle streams; upgrade.go relays 101 streams; observe.go and
// stats.go feed metrics and the access log; docker.go is everything the
// package knows of the Docker Engine API (the policy aside); setup.go and
// mode.go name the setups and build them; transport.go holds both
// transports' constructors. The raw transport's wire code (pool, request
// writer, head reader, framing, one file per body type) is the internal
// package internal/wire, which the handler uses through RoundTrip, a 1xx
// hook and the release of a relayed response's header.
//
// # Naming
//
// The package copy shadows the builtin copy; this package imports it as
//
//	import bodycopy "github.com/sockproxylab/sockproxy/copy"
package proxy
