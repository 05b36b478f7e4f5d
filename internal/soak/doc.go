// Package soak is the engine of cmd/soak, the watcher `make soak`
// (scripts/soak.sh) runs beside loadgen: it holds idle Docker event
// streams and slow readers open through a proxy, samples the proxy
// process's resident memory, threads and open file descriptors at a fixed
// interval into a CSV file, and at the end judges whether anything grew
// without bound, any stream was dropped or any slow reader's connection
// broke.
//
// # Samples
//
// Each sample is one CSV row: elapsed seconds since the first sample, RSS
// in KiB (VmRSS of /proc/PID/status), threads (Threads of the same file;
// a Go process has no goroutine count visible from outside, and its
// threads follow blocked system calls), and open descriptors (entries of
// /proc/PID/fd), plus the streams still open and the slow readers still
// reading.
//
// # Slow readers
//
// A slow reader (SOAK_SLOW of them, 10 by default; cmd/soak -slow) is the
// reliability issue's 1 byte/s client, held for the whole soak: it GETs a
// 1 GiB body through the proxy, the readers taking [SlowPaths] in turn (a
// chunked image save and a Content-Length blob), reads the response head
// at once, then reads its socket one byte per second (-slow-every) until
// the end. The proxy must hold the upstream back rather than buffer the
// body, which the RSS judgement below sees, and must keep each connection
// open: a reader whose connection ends, fails, or gives no byte for 30 s
// counts as broken, and the soak fails naming it. The summary reports how
// many were still reading at the last sample and the body bytes they read
// (counted on the wire: a chunked body's framing counts too).
//
// # Growth
//
// A metric grows without bound, for this judgement, when the mean of its
// last third of samples exceeds the mean of its first third by more than
// [Limits].Percent and by more than the metric's absolute floor. With
// fewer than three samples nothing is judged. The floors keep small
// absolute changes (a few threads, a GC cycle's worth of heap) from
// failing a short run.
package soak
