package proxy

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/policy"
)

// DefaultMode is the mode used when Setup.Mode is empty: the one the latest
// benchmark results favour (results/2026-12-07-c68f9d3): the lean front
// end, [ModeLean]. Served as an http.Handler, a lean Proxy is
// [LeanHandlerMode].
const DefaultMode = ModeLean

// LeanHandlerMode is what a lean [Proxy] is as an http.Handler (through
// ServeHTTP rather than Serve), and the copy of its upgraded streams:
// splice-chunked, which splices chunked image saves and exports over the
// raw transport and copies everything else as pooled does.
const LeanHandlerMode = "splice-chunked"

// The two modes that run Go's own proxy instead of ours.
const (
	// ModeStdlib is httputil.ReverseProxy over [NewTransport]: the same
	// connection pool as ours, so a comparison isolates the copy path.
	ModeStdlib = "stdlib"
	// ModeStdlibDefault is httputil.ReverseProxy over a transport with
	// Go's defaults (2 idle connections per host) dialing the socket: what
	// most socket proxies ship, the seed included.
	ModeStdlibDefault = "stdlib-default"
)

// ModeLean is the lean front end (see [Proxy.Serve]): the proxy serves
// HTTP/1.1 clients itself, over the raw transport, relaying chunked bodies
// with their own framing. As an http.Handler it is [LeanHandlerMode].
const ModeLean = "lean"

// Modes returns every mode name in presentation order: "stdlib",
// "stdlib-default", the copy strategies in the order of copy.Names, then
// "lean".
func Modes() []string {
	return append(append([]string{ModeStdlib, ModeStdlibDefault}, bodycopy.Names()...), ModeLean)
}

// Config describes a proxy to one upstream Unix socket.
type Config struct {
	// Mode and Transport are the proxy's [Setup] (see [Config.Setup]): an
	// empty one takes its default, so the zero Config runs [DefaultSetup].
	// Mode "stdlib" runs over either transport, so that stdlib over "raw"
	// isolates the transport; mode "stdlib-default" is defined by Go's
	// default transport and accepts only "std".
	Mode      string // a name from Modes(); "" means DefaultMode
	Transport string // a name from Transports(); "" means DefaultTransport(Mode)

	Socket   string      // upstream Unix socket path (required)
	MaxConns int         // concurrency the upstream transport is sized for (idle conns kept); 0 means 64
	ErrorLog *log.Logger // nil means log.Default()

	// ParkIdle is ReverseProxy.ParkIdle: how long a chunked stream over
	// the raw transport may idle before it is parked (0 means
	// DefaultParkIdle, negative never). The stdlib modes never park.
	ParkIdle time.Duration

	// Policy is ReverseProxy.Policy, in every mode (the stdlib modes
	// decide before handing the request to httputil); nil forwards
	// everything.
	Policy *policy.Policy

	// MaxHeaderBytes bounds a request's head for the lean front end (0:
	// 1 MiB, net/http's default); an http.Server serving the other modes
	// has its own.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds the reading of a request's head for the
	// lean front end, from its first byte (0: no bound), as
	// http.Server's.
	ReadHeaderTimeout time.Duration

	// Observer is ReverseProxy.Observer, in every mode (the stdlib modes
	// see no parked streams, and count upgrades as active requests);
	// nil observes nothing.
	Observer Observer
}

// Setup returns c's mode and transport as a [Setup].
func (c Config) Setup() Setup { return Setup{Mode: c.Mode, Transport: c.Transport} }

// Proxy is the handler [New] builds: this package's [ReverseProxy] for a
// copy strategy, or Go's httputil.ReverseProxy for the stdlib modes.
type Proxy struct {
	setup Setup
	rp    *ReverseProxy // nil for the stdlib modes
	std   *stdlibProxy  // nil unless a stdlib mode
	lean  *leanServer   // nil unless mode lean
	idle  idleCloser    // the upstream transport
}

// Serve serves HTTP/1.1 clients on ln with the lean front end until ln
// fails or Shutdown or Close is called (then it returns
// http.ErrServerClosed), for a proxy of mode "lean"; for any other mode
// it returns an error at once (serve those as an http.Handler).
func (p *Proxy) Serve(ln net.Listener) error {
	if p.lean == nil {
		return fmt.Errorf("proxy: mode %s is an http.Handler; only mode %s serves itself", p.setup.Mode, ModeLean)
	}
	return p.lean.serve(ln)
}

// Shutdown stops a lean front end gracefully: it closes the listeners and
// the idle connections, lets every exchange in flight finish (closing its
// connection after it), and waits for them until ctx is done, then closes
// what is left and returns ctx's error. Upgraded streams count as in
// flight. For other modes it does nothing.
func (p *Proxy) Shutdown(ctx context.Context) error {
	if p.lean == nil {
		return nil
	}
	return p.lean.shutdownWait(ctx)
}

// Close closes a lean front end's listeners and connections at once.
func (p *Proxy) Close() error {
	if p.lean != nil {
		p.lean.close(true)
	}
	return nil
}

// ServeHTTP proxies one request.
func (p *Proxy) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if p.rp != nil {
		p.rp.ServeHTTP(rw, req)
		return
	}
	p.std.ServeHTTP(rw, req)
}

// CloseIdleConnections closes the idle upstream connections (call it at
// shutdown).
func (p *Proxy) CloseIdleConnections() { p.idle.CloseIdleConnections() }

// Setup returns the proxy's mode and transport, defaults filled in.
func (p *Proxy) Setup() Setup { return p.setup }

// New returns the proxy for cfg.Setup(), proxying to cfg.Socket. The error
// names an unknown mode or transport, or a pair that does not go together,
// and lists the valid values.
//
// In every mode a socket that is missing or refuses connections gives
// 502 Bad Gateway whose body names the socket path, and one log line; each
// request dials anew, so the proxy recovers by itself when the socket
// comes back.
func New(cfg Config) (*Proxy, error) {
	if cfg.Socket == "" {
		return nil, errors.New("proxy: no upstream socket")
	}
	setup := cfg.Setup().withDefaults()
	if err := setup.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.ErrorLog
	if logger == nil {
		logger = log.Default()
	}
	errorHandler := socketErrorHandler(cfg.Socket, logger)
	var transport idleCloser
	switch {
	case setup.Mode == ModeStdlibDefault:
		transport = newDefaultTransport(cfg.Socket)
	case setup.Transport == TransportRaw:
		transport = NewRawTransport(cfg.Socket, cfg.MaxConns)
	default:
		transport = NewTransport(cfg.Socket, cfg.MaxConns)
	}
	p := &Proxy{setup: setup, idle: transport}
	if setup.IsStdlib() {
		p.std = &stdlibProxy{&httputil.ReverseProxy{
			Director:     defaultDirector,
			Transport:    transport,
			ErrorLog:     logger,
			ErrorHandler: errorHandler,
		}, cfg.Policy, cfg.Observer}
		return p, nil
	}
	mode := setup.Mode
	if mode == ModeLean {
		mode = LeanHandlerMode // its handler, and the copy of its upgraded streams
	}
	s, err := bodycopy.Lookup(mode)
	if err != nil { // IsMode said yes: the registry and Modes disagree
		return nil, fmt.Errorf("proxy: mode %q: %w", setup.Mode, err)
	}
	p.rp = &ReverseProxy{
		Transport:    transport,
		Strategy:     s,
		ErrorLog:     logger,
		ErrorHandler: errorHandler,
		ParkIdle:     cfg.ParkIdle,
		Policy:       cfg.Policy,
		Observer:     cfg.Observer,
	}
	if setup.Mode == ModeLean {
		p.lean = newLeanServer(p.rp, transport.(*RawTransport), cfg, logger)
	}
	return p, nil
}

// IsMode reports whether name is one of Modes().
func IsMode(name string) bool { return slices.Contains(Modes(), name) }

// idleCloser is a transport whose idle connections can be closed.
type idleCloser interface {
	http.RoundTripper
	CloseIdleConnections()
}

// stdlibProxy is httputil.ReverseProxy behind the policy and the
// observer.
type stdlibProxy struct {
	*httputil.ReverseProxy
	policy *policy.Policy // nil: forward everything
	obs    Observer       // nil: observe nothing
}

// ServeHTTP decides req by the policy, then hands it to httputil.
func (p *stdlibProxy) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if p.obs != nil {
		observedServe(p.obs, p.policy, rw, req, p.ErrorLog.Printf, p.ReverseProxy.ServeHTTP)
		return
	}
	if p.policy != nil && !decide(p.policy, rw, req, p.ErrorLog.Printf).Allowed {
		return
	}
	p.ReverseProxy.ServeHTTP(rw, req)
}

// socketErrorHandler answers a failed round trip with 502 naming the
// socket, and logs one line blaming the upstream.
func socketErrorHandler(socket string, logger *log.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(rw http.ResponseWriter, req *http.Request, err error) {
		side := "upstream"
		if ctxErr := req.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			side = "client" // the client left during the round trip
		}
		logger.Printf("proxy: %s failed: socket %s: %s %s: %v", side, socket, req.Method, req.URL.RequestURI(), err)
		http.Error(rw, fmt.Sprintf("proxy: upstream socket %s: %v", socket, err), http.StatusBadGateway)
	}
}
