// Package suite is the lab's cross-process suite: it starts one sockproxy
// per strategy and, where installed, the tools people use today (socat,
// HAProxy in http mode, nginx), all in front of one upstream socket, and
// runs the loadgen binary against each of them and against the upstream
// itself (`direct`), interleaved round by round (A B C A B C …).
//
// The proxies run pinned to one set of CPUs and loadgen to another (taskset)
// where the machine has more than one. For each run the suite reads the
// proxy's CPU time from /proc/PID/stat (utime+stime+cutime+cstime over the
// process and its descendants, so socat's forked children count) and
// appends it to loadgen's benchfmt line as proxy-cpu-s/GiB for the bulk
// scenarios (blob, chunked, save) and proxy-cpu-ns/op for the others, and its peak
// proportional set size during the run as proxy-peak-pss-KiB. Last, it
// holds idle /events streams through each proxy and reports KiB/stream:
// the growth of the proxy's proportional set size (PSS, so that forked
// children sharing pages are not counted twice) divided by the streams held.
//
// Peer configurations follow what the project measured people need:
// socat with its listen backlog raised from 5; HAProxy with
// `option http-no-delay` (without it streamed events wait ~100 ms); nginx
// with `proxy_buffering off` and upgrade headers passed on.
package suite
