#!/usr/bin/env bash
# bench.sh runs the lab: COUNT interleaved rounds of -count=1 over the whole
# benchmark matrix (BenchmarkProxy and BenchmarkCopy), then the cross-process
# suite (cmd/labsuite), then the benchstat tables, the proxy-own cost, the
# goals with their intervals, and the plots, into a new results dir.
#
# Environment: COUNT (rounds, default 10), BENCHTIME (default 0.2s),
# BENCH (-bench regexp for package bench, default .), COPY_BENCH (the same
# for package copy, default .; "skip" skips it), RESULTS (use this dir
# instead of a new one); SUITE (1: run the cross-process suite after the Go
# benchmarks, 0: skip it), UPSTREAM (the suite's upstream: sim, the
# default, or docker for a sandboxed real dockerd; needs root and docker.io).
# The suite's schedule (labsuite's flags; see cmd/labsuite):
#   SUITE_ROUNDS (10) interleaved rounds of SUITE_CLOSED (closed-loop runs,
#   and the events delivery-delay run) and SUITE_FIXED (fixed-rate open-loop
#   runs, uploads included); SUITE_SWEEP at each of
#   SWEEP_RATES for SWEEP_ROUNDS (3) rounds; STREAM_COUNTS idle streams on
#   MEM_REPEATS (2) fresh processes per target, each reading after SETTLE
#   (1s); STREAMS (1000) idle streams after the load; SUITE_SOCKPROXIES and
#   SUITE_PEERS the targets; CADDY a caddy binary (default
#   $HOME/.cache/sockproxy-lab/bin/caddy, then caddy on PATH; see
#   scripts/caddy.sh); SOCKETPAIR (1GiB) for the raw socket ceiling;
#   HONESTY (1: loadgen against wrk, scripts/honesty.sh, into honesty/).
source "$(dirname "$0")/lib.sh"
COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-0.2s}
BENCH=${BENCH:-.}
COPY_BENCH=${COPY_BENCH:-.}
SUITE=${SUITE:-1}
UPSTREAM=${UPSTREAM:-sim}
SUITE_ROUNDS=${SUITE_ROUNDS:-10}
if [ "$UPSTREAM" = docker ]; then
	# A real dockerd has no /_lab/blob and no sized image saves.
	SUITE_CLOSED=${SUITE_CLOSED:-ping:16:d=1s,docker:16:d=1s,save:2:n=4}
	SUITE_FIXED=${SUITE_FIXED:-}
else
	SUITE_CLOSED=${SUITE_CLOSED:-ping:16:d=500ms,blob:64MiB:4:n=6,chunked:64MiB:4:n=6,events:1:n=150:every=10ms}
	SUITE_FIXED=${SUITE_FIXED-ping:256:rate=2000:d=1s,blob:64MiB:16:rate=4:d=1.5s,chunked:64MiB:16:rate=4:d=1.5s,load:64MiB:16:rate=4:d=1s,load-chunked:64MiB:16:rate=4:d=1s}
fi
SUITE_SWEEP=${SUITE_SWEEP:-ping:256:d=1s}
SWEEP_RATES=${SWEEP_RATES:-1000,2500,5000,10000,15000,20000,30000}
SWEEP_ROUNDS=${SWEEP_ROUNDS:-3}
STREAM_COUNTS=${STREAM_COUNTS:-1000,2000,3000,8000}
MEM_REPEATS=${MEM_REPEATS:-2}
SETTLE=${SETTLE:-1s}
STREAMS=${STREAMS:-1000}
SUITE_SOCKPROXIES=${SUITE_SOCKPROXIES:-stdlib,pooled-raw,splice-chunked-raw,splice-chunked-raw-traefik,lean-raw,lean-raw-traefik}
SUITE_PEERS=${SUITE_PEERS:-relay,socat,socat-tuned,haproxy,haproxy-tuned,nginx,nginx-tuned,caddy}
SOCKETPAIR=${SOCKETPAIR:-1GiB}
HONESTY=${HONESTY:-1}
CADDY=${CADDY:-}
if [ -z "$CADDY" ]; then
	if [ -x "$HOME/.cache/sockproxy-lab/bin/caddy" ]; then
		CADDY=$HOME/.cache/sockproxy-lab/bin/caddy
	else
		CADDY=$(command -v caddy || true)
	fi
fi

dir=${RESULTS:-$(new_results_dir)}
mkdir -p "$dir"
write_env "$dir" "COUNT=$COUNT" "BENCHTIME=$BENCHTIME" "BENCH=$BENCH" "COPY_BENCH=$COPY_BENCH" \
	"SUITE=$SUITE" "UPSTREAM=$UPSTREAM" "SUITE_ROUNDS=$SUITE_ROUNDS" "SUITE_CLOSED=$SUITE_CLOSED" "SUITE_FIXED=$SUITE_FIXED" \
	"SUITE_SWEEP=$SUITE_SWEEP" "SWEEP_RATES=$SWEEP_RATES" "SWEEP_ROUNDS=$SWEEP_ROUNDS" "STREAM_COUNTS=$STREAM_COUNTS" \
	"MEM_REPEATS=$MEM_REPEATS" "SETTLE=$SETTLE" "STREAMS=$STREAMS" "SUITE_SOCKPROXIES=$SUITE_SOCKPROXIES" "SUITE_PEERS=$SUITE_PEERS" \
	"SOCKETPAIR=$SOCKETPAIR" "nofile=$(ulimit -Hn)" "peers=$(CADDY=$CADDY peer_versions)"
echo "results: ${dir#$ROOT/}"

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$ROOT" && $GO test -c -o "$bin/bench.test" ./bench && $GO test -c -o "$bin/copy.test" ./copy)

out=$dir/gotest.txt
: >"$out"
start=$(date +%s)
for round in $(seq 1 "$COUNT"); do
	for pkg in bench copy; do
		pattern=$BENCH
		if [ "$pkg" = copy ]; then pattern=$COPY_BENCH; fi
		if [ "$pattern" = skip ]; then continue; fi
		echo "round $round of $COUNT: $pkg ($(($(date +%s) - start))s so far)"
		# Each round is one -count=1 pass over the matrix; progress goes to the
		# terminal, the raw lines to gotest.txt.
		(cd "$ROOT/$pkg" && "$bin/$pkg.test" -test.run '^$' -test.bench "$pattern" \
			-test.benchtime "$BENCHTIME" -test.count 1 -test.benchmem) |
			tee -a "$out" | awk -v r="$round" -v n="$COUNT" '/^Benchmark/ { printf "  [%s/%s] %s\n", r, n, $1; fflush() }'
	done
done
echo "benchmarks done in $(($(date +%s) - start))s"

if [ "$SUITE" != 0 ]; then
	echo "cross-process suite: $SUITE_ROUNDS rounds of $SUITE_CLOSED and $SUITE_FIXED; sweep $SWEEP_ROUNDS × $SWEEP_RATES; memory at $STREAM_COUNTS × $MEM_REPEATS"
	(cd "$ROOT" && $GO build -o "$bin/" ./cmd/loadgen ./cmd/sockproxy ./cmd/labsuite ./cmd/upstream ./cmd/relay)
	: >"$dir/loadgen.txt"
	# The harness (labsuite, loadgen, the simulator) on CPU 0, each proxy
	# alone on CPU 1 (labsuite pins them); more CPUs stay idle.
	harness=()
	if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then harness=(taskset -c 0); fi
	sim=(-upstream-bin "$bin/upstream")
	if [ "$UPSTREAM" != sim ]; then sim=(); fi
	"${harness[@]}" "$bin/labsuite" -loadgen "$bin/loadgen" -sockproxy "$bin/sockproxy" "${sim[@]}" -relay "$bin/relay" \
		${CADDY:+-caddy "$CADDY"} -out "$dir/loadgen.txt" -configs "$dir/configs" -upstream "$UPSTREAM" \
		-rounds "$SUITE_ROUNDS" -closed "$SUITE_CLOSED" -fixed "$SUITE_FIXED" \
		-sweep "$SUITE_SWEEP" -sweep-rates "$SWEEP_RATES" -sweep-rounds "$SWEEP_ROUNDS" \
		-stream-counts "$STREAM_COUNTS" -mem-repeats "$MEM_REPEATS" -settle "$SETTLE" -streams "$STREAMS" \
		-sockproxies "$SUITE_SOCKPROXIES" -peers "$SUITE_PEERS" 2> >(tee "$dir/suite-log.txt" >&2)
	# The raw socket ceiling: one process moving SOCKETPAIR through a Unix
	# socketpair on the proxies' CPU, as many times as the suite's rounds.
	if [ "$SOCKETPAIR" != 0 ]; then
		pin=()
		if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin=(taskset -c 1); fi
		for _ in $(seq 1 "$SUITE_ROUNDS"); do "${pin[@]}" "$bin/relay" -socketpair "$SOCKETPAIR" >>"$dir/loadgen.txt"; done
	fi
	echo "suite done in $(($(date +%s) - start))s"
fi

# loadgen against wrk on the same sockproxy (scripts/honesty.sh), raw logs
# in honesty/; skipped with a line when wrk is not installed.
if [ "$HONESTY" != 0 ]; then
	HONESTY_OUT=$dir/honesty GO=$GO bash "$ROOT/scripts/honesty.sh"
fi

echo "loadavg-at-end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/env.txt"
echo "elapsed: $(($(date +%s) - start))s" >>"$dir/env.txt"
report=$dir/benchstat.txt
loadgen_txt=""
if [ -s "$dir/loadgen.txt" ]; then loadgen_txt=$dir/loadgen.txt; fi
{
	echo "# BenchmarkProxy: every strategy against direct and stdlib (benchstat -col /strategy)"
	benchstat -filter '.name:Proxy' -col /strategy "$out" || true
	echo
	echo "# BenchmarkCopy: each strategy alone over a Unix→TCP socket pair (alloc is the base)"
	benchstat -filter '.name:Copy' -col /strategy "$out" || true
	if [ -n "$loadgen_txt" ]; then
		echo
		echo "# Cross-process suite: loadgen against each target (benchstat -col /target)"
		benchstat -col /target "$loadgen_txt" || true
	fi
	echo
	echo "# Summary (cmd/labreport): proxy-own cost, goals, suite"
	(cd "$ROOT" && $GO run ./cmd/labreport -plots "$dir" "$out" $loadgen_txt)
} >"$report"
# The terminal gets the BenchmarkProxy table and the summary; benchstat.txt has every table.
sed -n '/^# BenchmarkProxy/,/^# BenchmarkCopy/p' "$report" | sed '$d'
sed -n '/^# Summary/,$p' "$report"
echo
echo "every table: ${report#$ROOT/}; plots: ${dir#$ROOT/}/*.svg"
echo "results written to ${dir#$ROOT/}"
