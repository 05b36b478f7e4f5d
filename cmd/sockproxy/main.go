// Command sockproxy serves an HTTP reverse proxy in front of a Unix socket,
// above all the Docker Engine socket:
//
//	sockproxy -listen 127.0.0.1:2375 -socket /var/run/docker.sock
//	docker -H tcp://127.0.0.1:2375 ps
//
// Usage:
//
//	sockproxy -listen ADDR -socket PATH [-policy FILE|preset:NAME] [-explain]
//	          [-strategy NAME] [-transport std|raw]
//	          [-profile cpu|mem|block|mutex|trace] [-profile-dir DIR]
//	          [-read-header-timeout D] [-max-conns N] [-grace D] [-park-idle D]
//	          [-metrics ADDR] [-log-format text|json] [-log-level LEVEL] [-access-log]
//	          [-listen-mode MODE] [-listen-group GROUP]
//	sockproxy -healthcheck [-listen ADDR]
//	sockproxy -version
//
// Every flag can also be set as SOCKPROXY_<FLAG> (upper case, "-" as "_");
// the command line wins. A container is configured by environment alone.
//
// ADDR is host:port or unix:/path. PATH is the upstream Unix socket.
// -strategy names the proxy mode (see package proxy); -strategy list prints
// the names, one per line, and exits. -transport picks the upstream
// transport: raw (package proxy's RawTransport, the default) or std (Go's
// http.Transport, the default for -strategy stdlib, and the only one
// -strategy stdlib-default accepts).
//
// -park-idle (default 1ms, also for 0; "never" or a negative time never parks) parks a chunked stream over the raw
// transport (events, logs -f, wait) once it has been idle that long: its
// client connection is hijacked and the stream relayed by two small
// goroutines, which frees net/http's per-request buffers and goroutine.
// After the stream's last chunk the connection goes back to the server
// (keep-alive is kept).
//
// A socket missing at start is not fatal: sockproxy logs one warning naming
// it, answers 502 (the body names the path) while it is missing, and
// recovers by itself when it appears, since every request dials anew.
//
// -max-conns caps concurrent client connections (0: no cap); a connection
// over the cap gets "503 Service Unavailable" and is closed. The upstream
// connection pool keeps as many idle connections as the cap (64 when there
// is none).
//
// On SIGINT or SIGTERM sockproxy stops accepting, lets in-flight requests
// and streams (attach, exec, parked events and logs) run for up to -grace,
// closes what is left, and exits 0. -profile writes a profile of the whole run into
// -profile-dir when it exits.
//
// Bad flags print the usage on stderr and exit 2; a failure to listen exits
// 1. Each failed request logs one line on stderr saying which side failed
// (client or upstream) and why.
//
// Logs are log/slog records, text or JSON (-log-format), at -log-level and
// above: failures and policy refusals (one audit line each) at warn, the
// start and shutdown at info, and with -access-log one info record per
// request (client, method, path, operation, decision, status, bytes,
// duration; never a header nor the query).
//
// -metrics ADDR serves Prometheus metrics at /metrics on a listener of its
// own (host:port or unix:/path); see package internal/metrics for the
// names. -healthcheck asks the sockproxy on -listen for GET /_ping and
// exits 0 when it and the upstream answer, 1 otherwise, printing which is
// not ready: the HEALTHCHECK of an image with no shell.
//
// -listen unix:/path replaces a stale socket a previous run left there,
// then sets -listen-mode (octal) and -listen-group (name or gid) on it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
