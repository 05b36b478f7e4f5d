// Package upstream is the lab's Docker-shaped upstream: a simulator of the
// Docker Engine API on a Unix socket, framed as dockerd frames its answers,
// so that benchmarks and most tests run without Docker.
//
// Use NewHandler to serve it from any http.Server, or Start to listen on a
// Unix socket in the background; Server.Close then also ends hijacked
// streams and waits for every handler. cmd/upstream runs it as a program.
//
// # Endpoints
//
// Every path is served with or without a version prefix such as /v1.41.
// Routed answers carry dockerd's middleware headers (Api-Version: 1.41,
// Docker-Experimental: false, Ostype: linux, Server: Docker/VERSION (linux)).
//
//	HEAD|GET /_ping                     "OK", Content-Length 2 (HEAD: Content-Length 0, as dockerd),
//	                                    with Cache-Control: no-cache, no-store, must-revalidate and Pragma: no-cache
//	GET  /version, /info                dockerd's JSON shapes with fixed values
//	GET  /containers/json?n=N           N entries (default 10); or size=SIZE: as many entries as fit,
//	GET  /images/json?n=N                 padded with spaces to exactly SIZE bytes (the json benchmark shape)
//	GET  /containers/{id}/json          dockerd's inspect shape
//	GET  /_lab/blob?size=SIZE           Content(SIZE) with a Content-Length (default 0; not a Docker endpoint)
//	GET  /images/{name}/get?size=SIZE   (and /images/get?names=…) Content(SIZE) chunked, 32 KiB chunks, each flushed (default 1 MiB);
//	GET  /containers/{id}/export?size=SIZE  application/x-tar for get, application/octet-stream for export
//	GET  /events?every=DUR&count=N      headers at once, then one container event per line and chunk,
//	                                    timeNano = send time; every defaults to 1s; no count: until the client leaves
//	GET  /containers/{id}/logs?follow=1&lines=N&every=DUR
//	                                    headers at once, frames "log line I on stdout|stderr\n", even lines on
//	                                    stdout, odd on stderr, one frame per chunk; lines defaults to 10, or
//	                                    unbounded with follow=1
//	POST /containers/{id}/wait?delay=DUR  headers at once, {"Error":null,"StatusCode":0} after the delay
//	POST /containers/{id}/attach        hijacked; see below
//	POST /exec/{id}/start               hijacked, after reading its JSON body; see below
//	POST /images/load                   reads the whole body, answers {"sha256":"HEX"} of what it read;
//	                                    check=content compares it with Content instead of hashing it,
//	                                    size=SIZE checks its length too (400 naming the first difference)
//	PUT  /containers/{id}/archive       reads the whole body as load does (same knobs), answers 200, no body
//	POST /containers/create             201 {"Id":…,"Warnings":[]} (creates nothing)
//	POST /containers/{id}/start         204
//	POST /containers/{id}/exec          201 {"Id":…}
//
// Anything else, including a known path with another method, is 404
// {"message":"page not found"} without the middleware headers, as dockerd's
// router answers. A malformed knob is a 400 {"message":…} naming it.
// SIZE is bytes or an IEC size (1536B, 64KiB, 1MiB); DUR is a Go duration.
//
// # Framing, as recorded from dockerd 20.10
//
// dockerd writes JSON with one json.Encoder Write, so net/http decides the
// framing: a body of at most 2048 bytes (net/http's buffer before chunking)
// gets a Content-Length, a longer one is chunked. /version, /containers/json
// with one entry, /images/json, create and exec create have a
// Content-Length; /info and /containers/{id}/json are chunked. The
// simulator writes its JSON the same way, so the same rule applies to it:
// /containers/json with the default 10 entries is chunked.
// Streaming answers (events, logs, wait, image save, export, load) are
// chunked, their headers flushed before the first byte; dockerd sends logs
// without a Content-Type. Hijacked answers are written by hand: attach
// sends only "HTTP/1.1 101 UPGRADED", Content-Type, Connection and Upgrade
// ("HTTP/1.1 200 OK" and Content-Type without an Upgrade request header);
// exec start adds the middleware headers after them. testdata/dockerd holds
// the recorded shapes the tests compare the simulator with.
//
// # Hijacked streams
//
// Attach and exec start hijack the connection whether or not the client
// asked for an upgrade, as dockerd does, and answer 101 UPGRADED only to a
// request with an Upgrade header. They then echo stdin as stdout frames,
// one frame per read, starting with any bytes that arrived with the request.
// When the client half-closes, they write a final stderr frame
// "stdin closed after N bytes\n" and close the connection.
//
// # Knobs
//
//	fail_after=BYTES  on blob, image get, export and logs: after that many body bytes (frame headers
//	                  included for logs) the handler aborts: the connection closes without the
//	                  terminating chunk, or short of the Content-Length
//	delay=DUR         on any GET or HEAD: sleep before answering
//	slow_every=N&slow=DUR  on /_ping: every Nth /_ping carrying slow_every sleeps DUR
//
// Sleeps end early when the client leaves or the Server closes.
//
// # Content
//
// Bodies are cut from one 1 MiB block generated once by math/rand/v2's
// ChaCha8 seeded with the 32 bytes "sockproxy lab upstream content!!":
// byte i of every body is block[i mod 1 MiB]. The bytes are incompressible,
// and serving them costs no generation: the handlers write slices of the
// shared block. Content returns such a body and ContentSHA256 its digest.
//
// # Multiplexed frames
//
// Logs, attach and exec use Docker's stream multiplexing: an 8-byte header
// (stream 0 stdin, 1 stdout or 2 stderr, three zero bytes, a big-endian
// uint32 length) then the payload. WriteFrame and ReadFrame speak it.
package upstream
