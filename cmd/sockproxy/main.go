// Command sockproxy serves an HTTP reverse proxy in front of a Unix socket,
// above all the Docker Engine socket:
//
//	sockproxy -listen 127.0.0.1:2375 -socket /var/run/docker.sock
//	docker -H tcp://127.0.0.1:2375 ps
//
// Usage:
//
//	sockproxy -listen ADDR -socket PATH [-strategy NAME] [-transport std|raw]
//	          [-profile cpu|mem|block|mutex|trace] [-profile-dir DIR]
//	          [-read-header-timeout D] [-max-conns N] [-grace D] [-park-idle D]
//
// ADDR is host:port or unix:/path. PATH is the upstream Unix socket.
// -strategy names the proxy mode (see package proxy); -strategy list prints
// the names, one per line, and exits. -transport picks the upstream
// transport: raw (package proxy's RawTransport, the default) or std (Go's
// http.Transport, the default for -strategy stdlib, and the only one
// -strategy stdlib-default accepts).
//
// -park-idle (default 1ms; 0 never) parks a chunked stream over the raw
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
