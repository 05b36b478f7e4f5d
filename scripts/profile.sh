#!/usr/bin/env bash
# profile.sh PATTERN runs the benchmarks matching PATTERN once with CPU and
# memory profiles, into a results folder's profiles/ (a new folder, or
# RESULTS), and prints a `go tool pprof -top` summary of each. Everything it
# writes stays under profiles/, so pointing RESULTS at a finished run adds
# profiles without touching that run's files.
source "$(dirname "$0")/lib.sh"
pattern=${1:?usage: profile.sh BENCH_PATTERN}
BENCHTIME=${BENCHTIME:-1s}
dir=${RESULTS:-$(new_results_dir)}
mkdir -p "$dir/profiles"
prof=$(cd "$dir/profiles" && pwd) # absolute: the benchmark runs in its package's directory
write_env "$prof" "BENCH=$pattern" "BENCHTIME=$BENCHTIME" "PROFILE=cpu,mem"
pkg=./bench
case $pattern in Copy* | *BenchmarkCopy*) pkg=./copy ;; esac
(cd "$ROOT" && $GO test -c -o "$prof/bench.test" "$pkg")
(cd "$ROOT/${pkg#./}" && "$prof/bench.test" -test.run '^$' -test.bench "$pattern" -test.benchtime "$BENCHTIME" \
	-test.count 1 -test.benchmem -test.cpuprofile "$prof/cpu.out" -test.memprofile "$prof/mem.out") | tee "$prof/gotest.txt"
$GO tool pprof -top -nodecount=40 "$prof/bench.test" "$prof/cpu.out" >"$prof/cpu-top.txt" 2>/dev/null
$GO tool pprof -top -nodecount=40 -sample_index=alloc_space "$prof/bench.test" "$prof/mem.out" >"$prof/mem-top.txt" 2>/dev/null
echo "# CPU (top 40)"; head -50 "$prof/cpu-top.txt"
echo "# allocated bytes (top 40)"; head -50 "$prof/mem-top.txt"
echo "profiles in ${prof#$ROOT/}"
