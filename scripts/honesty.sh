#!/usr/bin/env bash
# honesty.sh checks loadgen against wrk on the same target, interleaved,
# and keeps every raw log: ping at HONESTY_C connections (default 16) for
# HONESTY_D (default 3s), HONESTY_ROUNDS (default 5) rounds of wrk then
# loadgen against sockproxy (the defaults) on CPU 1, with the simulator and
# both clients on CPU 0, as in the suite. Writes into HONESTY_OUT (default
# a new results/<date>-<sha>-honesty folder): wrk-N.txt and loadgen-N.txt
# (raw), env.txt, and summary.txt (req/s of each, round by round, and
# loadgen ÷ wrk). wrk speaks TCP only, so direct is not compared.
source "$(dirname "$0")/lib.sh"
HONESTY_C=${HONESTY_C:-16}
HONESTY_D=${HONESTY_D:-3s}
HONESTY_ROUNDS=${HONESTY_ROUNDS:-5}
if ! command -v wrk >/dev/null; then
	echo "honesty: wrk is not installed (Debian: apt-get install wrk); nothing to compare" >&2
	exit 0
fi
out=${HONESTY_OUT:-$(new_results_dir)-honesty}
mkdir -p "$out"
write_env "$out" "HONESTY_C=$HONESTY_C" "HONESTY_D=$HONESTY_D" "HONESTY_ROUNDS=$HONESTY_ROUNDS" "peers=$(peer_versions)"

harness=() proxy=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then harness=(taskset -c 0) proxy=(taskset -c 1); fi
bin=$(mktemp -d)
sock=$(mktemp -u /tmp/honesty-up.XXXXXX.sock)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$bin" "$sock"
}
trap cleanup EXIT
(cd "$ROOT" && $GO build -o "$bin/" ./cmd/sockproxy ./cmd/upstream ./cmd/loadgen)

"${harness[@]}" "$bin/upstream" -socket "$sock" >"$out/upstream.log" 2>&1 &
pids+=($!)
wait_for "the simulator's socket $sock" test -S "$sock"
"${proxy[@]}" "$bin/sockproxy" -listen 127.0.0.1:0 -socket "$sock" 2>"$out/sockproxy.log" &
pids+=($!)
wait_for "sockproxy to listen" grep -q "listening on" "$out/sockproxy.log"
addr=$(sed -n 's/.*listening on \([^,]*\),.*/\1/p' "$out/sockproxy.log" | head -1)
echo "honesty: sockproxy on $addr; $HONESTY_ROUNDS rounds of wrk and loadgen, ping, c=$HONESTY_C, $HONESTY_D each; raw logs in ${out#$ROOT/}"

{
	echo "round wrk-req/s loadgen-req/s loadgen/wrk"
	for r in $(seq 1 "$HONESTY_ROUNDS"); do
		"${harness[@]}" wrk -t1 -c"$HONESTY_C" -d"$HONESTY_D" --latency "http://$addr/_ping" >"$out/wrk-$r.txt"
		"${harness[@]}" "$bin/loadgen" -target "http://$addr" -name sockproxy -scenario ping -c "$HONESTY_C" -d "$HONESTY_D" \
			-format bench >"$out/loadgen-$r.txt"
		w=$(awk '/^Requests\/sec:/ {print $2}' "$out/wrk-$r.txt")
		l=$(awk '/^BenchmarkLoadgen/ {for (i = 3; i < NF; i++) if ($(i+1) == "req/s") print $i}' "$out/loadgen-$r.txt")
		echo "$r $w $l $(awk -v a="$l" -v b="$w" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')"
	done
} | tee "$out/summary.txt"
