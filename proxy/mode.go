package proxy

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/policy"
)

// DefaultMode is the mode used when Config.Mode is empty: the one the latest
// benchmark results favour. splice-chunked splices chunked image saves and
// exports over the raw transport (Config.Transport "raw", which cmd/sockproxy
// uses by default) and copies everything else as pooled does, the best
// copy in the results for Content-Length bodies and streams; over Go's
// transport it is pooled.
const DefaultMode = "splice-chunked"

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

// Modes returns every mode name in presentation order: "stdlib",
// "stdlib-default", then the copy strategies in the order of copy.Names.
func Modes() []string {
	return append([]string{ModeStdlib, ModeStdlibDefault}, bodycopy.Names()...)
}

// Config describes a proxy to one upstream Unix socket.
type Config struct {
	Socket   string      // upstream Unix socket path (required)
	Mode     string      // a name from Modes(); "" means DefaultMode
	MaxConns int         // concurrency the upstream transport is sized for (idle conns kept); 0 means 64
	ErrorLog *log.Logger // nil means log.Default()

	// Transport names the upstream transport: "" or "std" is Go's
	// http.Transport from [NewTransport], "raw" is [RawTransport] (see
	// [Transports]). Mode "stdlib" runs over either, so that stdlib with
	// "raw" isolates the transport; mode "stdlib-default" is defined by
	// Go's default transport and accepts only "std".
	Transport string

	// ParkIdle is ReverseProxy.ParkIdle: how long a chunked stream over
	// the raw transport may idle before it is parked (0 means
	// DefaultParkIdle, negative never). The stdlib modes never park.
	ParkIdle time.Duration

	// Policy is ReverseProxy.Policy, in every mode (the stdlib modes
	// decide before handing the request to httputil); nil forwards
	// everything.
	Policy *policy.Policy

	// Observer is ReverseProxy.Observer, in every mode (the stdlib modes
	// see no parked streams, and count upgrades as active requests);
	// nil observes nothing.
	Observer Observer
}

// New returns the handler for cfg.Mode over cfg.Transport, proxying to
// cfg.Socket. The error names an unknown mode or transport and lists the
// valid ones.
//
// In every mode a socket that is missing or refuses connections gives
// 502 Bad Gateway whose body names the socket path, and one log line; each
// request dials anew, so the proxy recovers by itself when the socket
// comes back.
//
// The returned handler also has a CloseIdleConnections() method, which
// closes the idle upstream connections (call it at shutdown).
func New(cfg Config) (http.Handler, error) {
	if cfg.Socket == "" {
		return nil, errors.New("proxy: no upstream socket")
	}
	mode := cfg.Mode
	if mode == "" {
		mode = DefaultMode
	}
	logger := cfg.ErrorLog
	if logger == nil {
		logger = log.Default()
	}
	errorHandler := socketErrorHandler(cfg.Socket, logger)
	var transport idleCloser
	switch cfg.Transport {
	case "", TransportStd:
		transport = NewTransport(cfg.Socket, cfg.MaxConns)
	case TransportRaw:
		if mode == ModeStdlibDefault {
			return nil, fmt.Errorf("proxy: mode %s is Go's default transport; transport %q applies to the other modes", mode, cfg.Transport)
		}
		transport = NewRawTransport(cfg.Socket, cfg.MaxConns)
	default:
		return nil, fmt.Errorf("proxy: unknown transport %q (have: %s)", cfg.Transport, strings.Join(Transports(), ", "))
	}
	switch mode {
	case ModeStdlib, ModeStdlibDefault:
		t := transport
		if mode == ModeStdlibDefault {
			t = newDefaultTransport(cfg.Socket)
		}
		return &stdlibProxy{&httputil.ReverseProxy{
			Director:     defaultDirector,
			Transport:    t,
			ErrorLog:     logger,
			ErrorHandler: errorHandler,
		}, t, cfg.Policy, cfg.Observer}, nil
	}
	s, err := bodycopy.Lookup(mode)
	if err != nil {
		return nil, fmt.Errorf("proxy: unknown mode %q (have: %s)", mode, strings.Join(Modes(), ", "))
	}
	return &ReverseProxy{
		Transport:    transport,
		Strategy:     s,
		ErrorLog:     logger,
		ErrorHandler: errorHandler,
		ParkIdle:     cfg.ParkIdle,
		Policy:       cfg.Policy,
		Observer:     cfg.Observer,
	}, nil
}

// IsMode reports whether name is one of Modes().
func IsMode(name string) bool { return slices.Contains(Modes(), name) }

// idleCloser is a transport whose idle connections can be closed.
type idleCloser interface {
	http.RoundTripper
	CloseIdleConnections()
}

// stdlibProxy is httputil.ReverseProxy with a way to close its transport's
// idle connections.
type stdlibProxy struct {
	*httputil.ReverseProxy
	t      idleCloser
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

// CloseIdleConnections closes the idle upstream connections.
func (p *stdlibProxy) CloseIdleConnections() { p.t.CloseIdleConnections() }

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
