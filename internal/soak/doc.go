// Package soak is the engine of cmd/soak, the watcher `make soak`
// (scripts/soak.sh) runs beside loadgen: it holds idle Docker event
// streams open through a proxy, samples the proxy process's resident
// memory, threads and open file descriptors at a fixed interval into a CSV
// file, and at the end judges whether anything grew without bound or any
// stream was dropped.
//
// # Samples
//
// Each sample is one CSV row: elapsed seconds since the first sample, RSS
// in KiB (VmRSS of /proc/PID/status), threads (Threads of the same file;
// a Go process has no goroutine count visible from outside, and its
// threads follow blocked system calls), and open descriptors (entries of
// /proc/PID/fd), plus the streams still open.
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
