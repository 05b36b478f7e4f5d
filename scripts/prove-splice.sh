#!/usr/bin/env bash
# prove-splice.sh shows which strategies really reach splice(2): for each
# STRATEGY over the raw transport it runs sockproxy in front of the
# simulator (cmd/upstream) under `strace -f -e trace=splice`, sends one
# Content-Length body, one chunked image save and one attach round trip
# through it with loadgen, and prints the splice calls strace saw per
# kind of request, then sockproxy's own counts at shutdown (spliced and
# fallen back, per path).
#
# Environment: STRATEGIES (default "pooled splice splice-chunked"),
# TRANSPORT (default raw), SIZE (bodies, default 16MiB), ATTACH_SIZE (the
# attach message, default 64KiB: loadgen writes it whole before reading
# the echo), OUT (a directory to keep
# the strace logs in; default a temp dir, removed). Needs strace.
# Loopback and Unix sockets only; it stops only the processes it started.
source "$(dirname "$0")/lib.sh"
STRATEGIES=${STRATEGIES:-pooled splice splice-chunked}
TRANSPORT=${TRANSPORT:-raw}
SIZE=${SIZE:-16MiB}
ATTACH_SIZE=${ATTACH_SIZE:-64KiB}
command -v strace >/dev/null || {
	echo "prove-splice: strace is not installed (apt-get install strace)" >&2
	exit 1
}

work=$(mktemp -d /tmp/prove-splice.XXXXXX)
out=${OUT:-$work/out}
mkdir -p "$out"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$ROOT" && $GO build -o "$work/" ./cmd/sockproxy ./cmd/upstream ./cmd/loadgen)

sock=$work/up.sock
"$work/upstream" -socket "$sock" 2>"$out/upstream.log" &
pids+=($!)
wait_for "the simulator's socket" test -S "$sock"

# The three kinds of request, one loadgen run each (-n 1 after no warmup).
kinds=("content-length:blob" "chunked:chunked" "upgrade:attach")

for s in $STRATEGIES; do
	log=$out/strace-$s.txt
	strace -f -qq -e trace=splice -o "$log" \
		"$work/sockproxy" -listen 127.0.0.1:0 -socket "$sock" -strategy "$s" -transport "$TRANSPORT" \
		2>"$out/sockproxy-$s.log" &
	spid=$!
	pids+=("$spid")
	wait_for "sockproxy -strategy $s" grep -q 'listening on' "$out/sockproxy-$s.log"
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$out/sockproxy-$s.log")
	echo "strategy=$s transport=$TRANSPORT"
	for kind in "${kinds[@]}"; do
		name=${kind%%:*} scenario=${kind#*:} size=$SIZE
		if [ "$scenario" = attach ]; then size=$ATTACH_SIZE; fi
		before=$(grep -c 'splice(' "$log" || true)
		"$work/loadgen" -target "http://127.0.0.1:$port" -scenario "$scenario" -size "$size" -c 1 -n 1 -warmup 0s \
			-format text >"$out/loadgen-$s-$name.txt" 2>&1 || {
			echo "prove-splice: loadgen $scenario through $s failed:" >&2
			cat "$out/loadgen-$s-$name.txt" >&2
			exit 1
		}
		after=$(grep -c 'splice(' "$log" || true)
		printf "  %-15s %6d splice calls\n" "$name" $((after - before))
	done
	# SIGTERM to sockproxy itself (strace's child), so that it logs its counts.
	kill -TERM "$(pgrep -P "$spid")"
	wait "$spid" || true
	grep -o 'splice counts:.*' "$out/sockproxy-$s.log" | sed 's/^/  /' || echo "  (no splice counts: not a splice strategy)"
done
