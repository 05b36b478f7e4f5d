#!/usr/bin/env bash
# bench.sh runs the lab: COUNT interleaved rounds of -count=1 over the whole
# benchmark matrix (BenchmarkProxy and BenchmarkCopy), then the benchstat
# tables, the proxy-own cost and goals, and the plots, into a new results dir.
#
# Environment: COUNT (rounds, default 10), BENCHTIME (default 0.2s),
# BENCH (-bench regexp for package bench, default .), COPY_BENCH (the same
# for package copy, default .; "skip" skips it), RESULTS (use this dir
# instead of a new one); SUITE (1: run the cross-process suite after the Go
# benchmarks, 0: skip it), SUITE_ROUNDS (default 5), SUITE_D (loadgen
# duration per run, default 1s), STREAMS (idle streams for the memory
# measure, default 1000), SUITE_SCENARIOS (labsuite -scenarios), SUITE_STRATEGIES
# (labsuite -strategies; default every mode), UPSTREAM
# (the suite's upstream: sim, the default, or docker for a sandboxed real
# dockerd; needs root and docker.io).
source "$(dirname "$0")/lib.sh"
COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-0.2s}
BENCH=${BENCH:-.}
COPY_BENCH=${COPY_BENCH:-.}
SUITE=${SUITE:-1}
SUITE_ROUNDS=${SUITE_ROUNDS:-5}
SUITE_D=${SUITE_D:-1s}
STREAMS=${STREAMS:-1000}
SUITE_SCENARIOS=${SUITE_SCENARIOS:-}
SUITE_STRATEGIES=${SUITE_STRATEGIES:-}
UPSTREAM=${UPSTREAM:-sim}

dir=${RESULTS:-$(new_results_dir)}
mkdir -p "$dir"
write_env "$dir" "COUNT=$COUNT" "BENCHTIME=$BENCHTIME" "BENCH=$BENCH" "COPY_BENCH=$COPY_BENCH" \
	"SUITE=$SUITE" "UPSTREAM=$UPSTREAM" "SUITE_STRATEGIES=${SUITE_STRATEGIES:-all}" "SUITE_ROUNDS=$SUITE_ROUNDS" "SUITE_D=$SUITE_D" "STREAMS=$STREAMS" \
	"peers=$(peer_versions)"
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
	echo "cross-process suite: $SUITE_ROUNDS rounds of ${SUITE_D} runs per target and scenario"
	(cd "$ROOT" && $GO build -o "$bin/" ./cmd/loadgen ./cmd/sockproxy ./cmd/labsuite)
	: >"$dir/loadgen.txt"
	"$bin/labsuite" -loadgen "$bin/loadgen" -sockproxy "$bin/sockproxy" -out "$dir/loadgen.txt" \
		-upstream "$UPSTREAM" -rounds "$SUITE_ROUNDS" -d "$SUITE_D" -streams "$STREAMS" ${SUITE_SCENARIOS:+-scenarios "$SUITE_SCENARIOS"} \
		${SUITE_STRATEGIES:+-strategies "$SUITE_STRATEGIES"}
	echo "suite done in $(($(date +%s) - start))s"
fi

echo "loadavg-at-end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/env.txt"
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
