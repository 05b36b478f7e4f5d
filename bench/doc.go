// Package bench holds the lab's end-to-end Go benchmarks: a client, a proxy
// and the Docker-shaped upstream simulator (package internal/upstream), all
// in one process but talking over real sockets — TCP from the client to the
// proxy, a Unix socket from the proxy to the upstream.
//
// BenchmarkProxy names follow the project contract:
//
//	BenchmarkProxy/strategy=S[/transport=raw]/shape=H[/size=Z][/conc=N]
//
// S is `direct` (the client talks to the upstream socket with no proxy: the
// floor), `stdlib`, `stdlib-default` or a copy strategy (proxy.Modes);
// `/transport=raw` marks a row whose proxy uses the raw Unix-socket
// transport (proxy.NewRawTransport) instead of net/http's. -bench matches
// each `/` level separately, so select raw rows with a level of their own:
// `-bench 'Proxy/strategy=pooled/transport=raw/shape=ping'`. The
// proxy's own cost is a row minus the `direct` row with the same shape,
// size and conc; cmd/labreport computes it. For one configuration the
// strategies run one after the other, so a slow moment of the machine hits
// neighbours alike; `make bench` runs the whole matrix in rounds of
// -count=1.
//
// Shapes: ping (GET /_ping), json (GET /containers/json padded to exactly the
// size: 1536B comes with a Content-Length, 64KiB chunked, as dockerd frames
// them), blob (a Content-Length body), chunked (an image
// save: chunked, 32 KiB flushed pieces), upgrade (attach: one echo round
// trip of size bytes per op over the hijacked stream), and the uploads load
// (POST /images/load with a Content-Length body) and load-chunked (the same
// chunked in 32 KiB chunks, as docker load sends a file), 64MiB, which the
// simulator reads whole and compares with its content.
//
// Every leaf reports allocations and, where bytes move, bytes per op (so
// MB/s). Big bodies also report cpu-ns/B: the process's user+system CPU time
// per byte moved, which includes the client and the simulator; subtracting
// the direct row leaves the proxy's own CPU per byte. Parallel leaves
// (conc>1) report p99-ns.
//
// Usage, as for any Go benchmark:
//
//	cd bench && go test -run '^$' -bench . -cpuprofile cpu.out -memprofile mem.out
//	go test -run '^$' -bench 'Proxy/strategy=(stdlib|pooled)/shape=ping' -count 10
//
// The servers are started once per process, outside the measured loops, and
// stopped when the test binary exits.
package bench
