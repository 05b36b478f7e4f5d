package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A Target is where requests go: a TCP address reached over http://, or a
// Unix socket reached through a unix:// URL.
type Target struct {
	// URL is the target as given on the command line.
	URL string
	// Network is "tcp" or "unix"; Addr is the host:port or socket path
	// that Network dials.
	Network, Addr string
	// Base is the URL prefix requests are built from ("http://host:port",
	// or "http://localhost" for a Unix socket, whose Host header dockerd
	// ignores).
	Base string
}

// ParseTarget parses "http://host:port" or "unix:///path/to.sock".
func ParseTarget(s string) (Target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Target{}, fmt.Errorf("parse target %q: %w", s, err)
	}
	switch u.Scheme {
	case "http":
		if u.Host == "" || (u.Path != "" && u.Path != "/") {
			return Target{}, fmt.Errorf("parse target %q: want http://host:port with no path", s)
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
		return Target{URL: s, Network: "tcp", Addr: host, Base: "http://" + u.Host}, nil
	case "unix":
		if u.Host != "" || u.Path == "" {
			return Target{}, fmt.Errorf("parse target %q: want unix:///absolute/path.sock", s)
		}
		return Target{URL: s, Network: "unix", Addr: u.Path, Base: "http://localhost"}, nil
	}
	return Target{}, fmt.Errorf("parse target %q: scheme must be http or unix", s)
}

// DefaultName is the label a target gets in benchmark names when -name is
// not given: "direct" for a Unix socket (the client talks to the upstream
// with no proxy), the host:port otherwise.
func (t Target) DefaultName() string {
	if t.Network == "unix" {
		return "direct"
	}
	return strings.TrimPrefix(t.Base, "http://")
}

// Dial connects to the target, whatever host a request names.
func (t Target) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, t.Network, t.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s %s: %w", t.Network, t.Addr, err)
	}
	return c, nil
}

// client returns the one http.Client a run shares: keep-alive, conns idle
// connections kept (so a closed loop of conns workers never redials), no
// transparent gzip (bodies are counted as sent), no HTTP/2.
func (t Target) client(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return t.Dial(ctx)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
