// Package loadgen is the engine of cmd/loadgen: an honest load generator for
// HTTP servers and proxies in front of a Unix socket, whose output goes into
// benchstat like any Go benchmark.
//
//	loadgen -target URL -scenario NAME [-size SIZE] [-mix ping=80,json=15,chunked=5]
//	        [-c N | -rate R] [-d DURATION | -n COUNT] [-warmup D]
//	        [-format text|bench|json] [-name LABEL] [-allow-errors]
//	        [-timeout D] [-client raw|std] [-every D]
//
// URL is http://host:port or unix:///path/to.sock. Defaults: -c 16 -d 10s
// -format text -timeout 30s -client raw. -timeout bounds each request or
// round trip (it is re-armed when less than half of it is left, so a
// request gets at least half). The exit status is 1 when any request failed
// (unless -allow-errors) or the run could not start, and 2 for bad flags
// (with the usage on stderr).
//
// # Design
//
// The split is vegeta's: a producer ([Attack], paced by a [Pacer] in an open
// loop) runs a [Scenario]'s operations and hands every [Result] to an
// aggregator ([Metrics.Add], then [Metrics.Close]), and reporters
// ([Reporter], a func(io.Writer) error) render the [Report]. [Run] wires
// them together from a [Config]; flags have no order-dependent effects.
//
// # Scenarios
//
// Each is a sequence of operations; one operation is one sample of latency.
// Sizes are IEC sizes (1536B, 64KiB, 1MiB), checked on every response.
//
//   - ping: GET /_ping; the body must be the 2 bytes "OK".
//   - json: GET /containers/json, the simulator's default 10 entries. With
//     -size, GET /containers/json?n=N where N is solved from the body
//     lengths for n=1 and n=2 (fetched once before the run) so the body is
//     about -size; the name keeps the -size asked for.
//   - blob: GET /_lab/blob?size=SIZE (Content-Length; default 64KiB).
//   - chunked: GET /images/lab/get?size=SIZE (chunked; default 1MiB).
//   - save: GET /images/lab/big/get ([SaveImage]), a real `docker save` of
//     the 128 MiB incompressible image the suite imports into its sandboxed
//     dockerd (the simulator answers it with 1 MiB). The body's size is not
//     known in advance: it is read to its end and counted for MB/s, its
//     framing checked (a chunked body must end with its last chunk, a
//     close-delimited one with a clean close, not a reset). No -size (it
//     is an error).
//   - load, load-chunked: POST /images/load?check=content&size=SIZE with
//     the simulator's content of -size bytes (default 1MiB) as the body:
//     load with a Content-Length, load-chunked without (net/http's client
//     sends 32 KiB chunks, as it does for docker load's file). The
//     simulator compares the body with its content and length and answers
//     400 when they differ (a status error). Bytes and MB/s count what was
//     sent. Uploads always use net/http's client (one request per 64 MiB
//     costs it nothing that shows).
//   - events: each worker reads GET /events?every=D&count=1000 streams
//     (D is -every, default 1ms) and opens the next when one ends; each
//     event is one operation whose latency is its receipt time minus the
//     timeNano the event carries (the send time; both ends share the host
//     clock): the delivery delay. Closed loop only.
//   - attach: each worker upgrades POST /containers/x/attach (Connection:
//     Upgrade, Upgrade: tcp, 101 expected) once, then each operation writes
//     -size bytes (default 64B) of stdin and reads them back as stdout frames
//     (8-byte header: stream 1, three zero bytes, big-endian uint32 length),
//     checking the bytes. At the end it half-closes and reads to EOF.
//   - docker: real Docker API reads, safe against a real dockerd: per cycle
//     of 10, 2 × /_ping, 1 × /version, 3 × /containers/json, 2 ×
//     /images/json and 2 × GET /containers/{id}/json of a container
//     discovered from /containers/json before the run (left out when there
//     are none).
//   - mix: -mix weights over ping, json, blob, chunked and docker,
//     interleaved by smooth weighted round robin (ping=80,json=15,chunked=5
//     gives exactly those counts in every 100 operations of a worker).
//
// # Loops
//
// Closed loop (-c N): N workers, each sending its next request when the
// previous one ends over its own keep-alive connection. Latency is from
// send to the last body byte.
//
// # Clients
//
// -client raw (the default) is a lean HTTP/1.1 client built in: one
// connection per worker, each request rendered once, responses parsed in
// place and bodies skipped in a 64 KiB bufio.Reader (Content-Length,
// chunked framing and the size are all checked), no goroutine and no
// allocation per request. A body with neither Content-Length nor chunking
// (close-delimited, as sockproxy's splice-chunked strategy answers a
// chunked upstream body, with Connection: close) is read to EOF and the
// worker reconnects for its next request. Its end is only the server's
// clean close, so a reset or other read error is a read error, never a
// short success; a clean close that cuts it short is caught by the size
// check where the size is known (chunked), not for save. -client std
// reads such bodies the same way (net/http does).
//
// -client std is net/http's Client over one Transport keeping N idle
// connections (MaxIdleConnsPerHost = N), without
// transparent gzip or HTTP/2; it costs about three times the CPU per
// request (two goroutine hand-offs and ~50 allocations), which on a small
// machine is CPU taken from the server being measured: against wrk on 2
// cores it read 40 % low where raw agrees within 5 %. events always use
// net/http (a few requests, many events); attach its own upgraded
// connection; preparation (json calibration, docker ids) net/http.
//
// Open loop (-rate R): operation i is due at start + i/R whatever the target
// does, and its latency counts from that intended time, so a stall shows in
// the tail instead of silently slowing the sender (coordinated omission).
// A send that starts more than [LateAfter] behind schedule is counted late
// (the generator itself fell behind); one due while -c operations (default
// [DefaultInFlight]) are already in flight is dropped and counted, never
// queued. A dropped send still counts in the latency quantiles, as if
// answered at the end of the run (a lower bound on its wait): a generator
// that cannot keep up shows it in the tail, not only in a count. -n counts
// scheduled sends, dropped ones included.
//
// -d is the measured time (after -warmup); -n a measured count instead.
// -warmup runs first and its results are discarded.
//
// # Measurements
//
// Latencies of successful operations (and of dropped sends, see above) go
// into an HDR histogram (1µs to 60s,
// 3 significant figures): p50, p90, p99, p99.9 and max. Failures are counted
// by [Kind]: connect (dial failed), status (not 200, or not 101 for attach),
// read (short, aborted or wrong-sized body, bad frame or event) and timeout.
// Elapsed runs from the earliest intended start to the latest end of a
// measured operation; req/s and MB/s (10⁶ bytes of payload received per
// second) are over it.
//
// # Output
//
// -format bench writes, with golang.org/x/perf/benchfmt, the file
// configuration goos, goarch, cpu and loadgen-version (the VCS revision),
// then one line
//
//	BenchmarkLoadgen/target=NAME/scenario=S[/size=Z]/conc=N  (or /rate=R)
//
// whose iteration count is the number of requests, with units ns/op
// (elapsed ÷ requests), req/s, MB/s, p50-ns, p90-ns, p99-ns, p999-ns,
// max-ns, and errors/op, late/op, dropped/op when not zero. NAME is -name,
// by default "direct" for a unix:// target and host:port otherwise. The
// target URL and scenario are not file configuration, because benchstat
// splits its tables by file configuration; they are in the name.
//
// -format json writes the whole [Report] as one object; -format text a
// human summary. When stderr is a terminal, a one-line progress display
// (requests, req/s, errors, p99 so far) is rewritten there 4 times a second.
//
// Results are aggregated under one short lock, which is cheap next to a
// round trip. The open loop waits for each send with a timer until 2ms
// before it, then in nanosleep(2) on Linux: Go's timers wake on the
// netpoller's millisecond, which made sends at 1000 req/s up to 1ms late.
//
// The bench output's loadgen-version is the VCS revision the binary was
// built from, or "devel" when built without VCS stamping (-buildvcs=false).
package loadgen
