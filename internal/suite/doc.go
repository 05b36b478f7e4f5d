// Package suite is the lab's cross-process suite: it starts sockproxy
// targets and, where installed, the tools people use today (socat, HAProxy
// in http mode, nginx, Caddy), each at its defaults and tuned for bulk
// bodies, plus the ceiling relay (cmd/relay), all in front of one upstream
// socket, and measures them with the loadgen binary and against the
// upstream itself (`direct`), interleaved round by round (A B C A B C …).
//
// # Harness and target apart
//
// On a machine of two CPUs or more the target runs alone on one CPU
// ([Config.ProxyCPUs]) and the harness on another ([Config.HarnessCPUs]):
// loadgen, and the simulator when it runs as its own process (cmd/labsuite
// -upstream-bin). Every run records the harness's CPU use: loadgen's own
// user+system time (rusage), the simulator's and this process's, divided
// by the run's wall time, as harness-util (in cores). A row whose harness
// is near one core is harness-bound: its throughput and latency say more
// about the client side than about the target (internal/labreport flags
// it). For the target it records proxy-util (its CPU ÷ wall time), its
// CPU per request (proxy-cpu-ns/op) or per GiB (proxy-cpu-s/GiB, bulk
// scenarios) and its peak PSS. CPU time is read from the threads'
// /proc/PID/task/TID/schedstat (nanoseconds) plus the reaped children's
// cutime+cstime, over the process tree, so socat's forked children count.
//
// # Phases
//
//  1. Closed-loop runs ([Config.Closed]) and fixed-rate open-loop runs
//     ([Config.Fixed]), [Config.Rounds] interleaved rounds. The closed loop
//     measures the slower of target and harness (req/s, MB/s: secondary);
//     the fixed rates, well below every target's saturation, give the CPU
//     per request and per GiB that capacity is judged on. Bulk closed runs
//     count transfers (-n) rather than time, so each moves enough bytes
//     and none is stretched by the drain of a closed loop.
//     Uploads (load, load-chunked: 64 MiB POST /images/load with a
//     Content-Length or chunked) run at fixed load beside the downloads,
//     reported per GiB uploaded. The events run ([DefaultEvents]) is one
//     /events stream per target, an event every 10 ms: loadgen's latency
//     of an event is its delivery delay (receipt − the timeNano it
//     carries), and internal/labreport subtracts direct's, round by round.
//  2. A rate sweep ([Config.Sweep] at each of [Config.SweepRates]) in an
//     open loop: latency against offered load, a late or dropped send
//     counted from its intended time (loadgen does; no coordinated
//     omission). A target goes on to the next rate only while it keeps the
//     last (no drops, 90 % of the rate achieved).
//  3. Memory after load: [Config.Streams] idle /events streams held by the
//     process that carried the load (scenario=streams).
//  4. Memory on fresh processes: per repeat and target a new instance holds
//     each of [Config.StreamCounts] idle streams in turn
//     (scenario=streams-fresh/conc=N): its PSS growth, and the machine's
//     kernel memory for sockets (slab + TCP buffers, both ends), for a
//     slope fitted over counts and repeats.
//
// Peer configurations follow what the project measured people need, and
// are written into the results folder (configs/): socat with its listen
// backlog raised from 5 (tuned: -b 262144); HAProxy with `option
// http-no-delay` (without it streamed events wait ~100 ms; tuned:
// tune.bufsize 262144 and option splice-auto); nginx with `proxy_buffering
// off` and upgrade headers passed on (tuned: proxy_buffer_size 256k);
// Caddy's reverse_proxy with flush_interval -1.
package suite
