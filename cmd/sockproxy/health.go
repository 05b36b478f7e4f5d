package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthTimeout bounds the whole healthcheck: connect, request, answer.
const healthTimeout = 5 * time.Second

// healthcheck asks the sockproxy serving on listen for GET /_ping and
// returns the exit status: 0 when the proxy answers and the upstream's
// /_ping answers "OK" through it, 1 otherwise, with one line on stdout
// (dockerd keeps it in the container's health log) saying which part is
// not ready: the proxy, the upstream behind it (502), or the policy.
func healthcheck(ctx context.Context, listen string, stdout io.Writer) int {
	network, addr := dialTarget(listen)
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sockproxy/_ping", nil)
	if err != nil {
		fmt.Fprintf(stdout, "unhealthy: %v\n", err)
		return 1
	}
	req.Header.Set("User-Agent", "sockproxy-healthcheck")
	res, err := tr.RoundTrip(req)
	if err != nil {
		fmt.Fprintf(stdout, "unhealthy: proxy not answering on %s: %v\n", listen, err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	text := strings.TrimSpace(string(body))
	switch {
	case res.StatusCode == http.StatusOK && text == "OK":
		fmt.Fprintf(stdout, "healthy: proxy on %s and upstream answer /_ping\n", listen)
		return 0
	case res.StatusCode == http.StatusBadGateway:
		fmt.Fprintf(stdout, "unhealthy: proxy up, upstream not ready: %d %s\n", res.StatusCode, text)
	case res.StatusCode == http.StatusForbidden:
		fmt.Fprintf(stdout, "unhealthy: proxy up, but its policy does not grant SystemPing (GET /_ping): %s\n", text)
	default:
		fmt.Fprintf(stdout, "unhealthy: /_ping through the proxy on %s answered %d %q\n", listen, res.StatusCode, text)
	}
	return 1
}

// dialTarget is where a client on this host reaches the listener of
// -listen ADDR: the socket of unix:/path, and loopback for a wildcard
// host.
func dialTarget(listen string) (network, addr string) {
	if path, ok := strings.CutPrefix(listen, "unix:"); ok {
		return "unix", path
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "tcp", listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "tcp", net.JoinHostPort(host, port)
}
