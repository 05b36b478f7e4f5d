#!/usr/bin/env bash
# soak.sh runs sockproxy in front of the simulator (cmd/upstream) for
# SOAK_D under the loadgen mix scenario plus SOAK_STREAMS idle /events
# streams and SOAK_SLOW slow readers (each GETs a 1 GiB body, chunked or
# Content-Length in turn, and reads it one byte per second for the whole
# soak), sampling sockproxy's RSS, threads and open descriptors every
# SOAK_EVERY into soak.csv (cmd/soak). It fails when a request failed
# (loadgen's exit status), a stream was dropped, a slow reader's
# connection broke, or a metric grew without bound (last-third mean over
# first-third mean by more than 20 % and an absolute floor; see package
# internal/soak).
#
# Environment: SOAK_D (default 10m), SOAK_STREAMS (default 1000),
# SOAK_SLOW (slow readers at 1 byte/s, default 10; 0 for none),
# SOAK_STRATEGY (default splice-chunked, sockproxy's default), SOAK_TRANSPORT (default raw),
# SOAK_MIX (default ping=80,json=15,chunked=5),
# SOAK_C (loadgen connections, default 16), SOAK_EVERY (default 10s),
# SOAK_WARMUP (default 10s), SOAK_OUT (output dir; default a new temp dir).
# Loopback and Unix sockets only; it stops only the processes it started.
source "$(dirname "$0")/lib.sh"
SOAK_D=${SOAK_D:-10m}
SOAK_STREAMS=${SOAK_STREAMS:-1000}
SOAK_SLOW=${SOAK_SLOW:-10}
SOAK_STRATEGY=${SOAK_STRATEGY:-splice-chunked}
SOAK_TRANSPORT=${SOAK_TRANSPORT:-raw}
SOAK_MIX=${SOAK_MIX:-ping=80,json=15,chunked=5}
SOAK_C=${SOAK_C:-16}
SOAK_EVERY=${SOAK_EVERY:-10s}
SOAK_WARMUP=${SOAK_WARMUP:-10s}
out=${SOAK_OUT:-$(mktemp -d /tmp/soak.XXXXXX)}
mkdir -p "$out"

# Each stream costs sockproxy two descriptors and the watcher one; a slow
# reader up to four (a splice pipe while its body is held back).
ulimit -n "$(ulimit -Hn)" || true
need=$((SOAK_STREAMS * 2 + SOAK_SLOW * 4 + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
	echo "soak: open-file limit $(ulimit -n) < $need needed for $SOAK_STREAMS streams and $SOAK_SLOW slow readers" >&2
	exit 1
fi

bin=$(mktemp -d)
sock=$(mktemp -u /tmp/soak-up.XXXXXX.sock)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$bin" "$sock"
}
trap cleanup EXIT
(cd "$ROOT" && $GO build -o "$bin/" ./cmd/sockproxy ./cmd/upstream ./cmd/loadgen ./cmd/soak)

"$bin/upstream" -socket "$sock" 2>"$out/upstream.log" &
pids+=($!)
wait_for "the simulator's socket $sock" test -S "$sock"

"$bin/sockproxy" -listen 127.0.0.1:0 -socket "$sock" -strategy "$SOAK_STRATEGY" -transport "$SOAK_TRANSPORT" 2>"$out/sockproxy.log" &
proxy_pid=$!
pids+=("$proxy_pid")
wait_for "sockproxy to listen" grep -q "listening on" "$out/sockproxy.log"
addr=$(sed -n 's/.*listening on \([^,]*\),.*/\1/p' "$out/sockproxy.log" | head -1)

echo "soak: sockproxy (strategy $SOAK_STRATEGY, transport $SOAK_TRANSPORT, pid $proxy_pid) on $addr; $SOAK_STREAMS idle streams; $SOAK_SLOW slow readers; mix $SOAK_MIX for $SOAK_D; output in $out"
"$bin/soak" -target "$addr" -pid "$proxy_pid" -csv "$out/soak.csv" -streams "$SOAK_STREAMS" -slow "$SOAK_SLOW" \
	-d "$SOAK_D" -warmup "$SOAK_WARMUP" -every "$SOAK_EVERY" >"$out/soak.txt" 2>&1 &
soak_pid=$!
pids+=("$soak_pid")
# The streams, then the slow readers, open first, so the load measures them held.
ready="idle streams open"
if [ "$SOAK_SLOW" -gt 0 ]; then ready="slow readers open"; fi
wait_for "the streams and slow readers to open" grep -q "$ready" "$out/soak.txt" || true

status=0
"$bin/loadgen" -target "http://$addr" -scenario mix -mix "$SOAK_MIX" -c "$SOAK_C" -warmup "$SOAK_WARMUP" \
	-d "$SOAK_D" -format text >"$out/loadgen.txt" 2>&1 || { echo "soak: loadgen failed (a request erred?)" >&2; status=1; }
wait "$soak_pid" || { echo "soak: the watcher failed:" >&2; status=1; }
cat "$out/soak.txt"
sed -n '1,12p' "$out/loadgen.txt"
if grep -q "panic" "$out/sockproxy.log"; then echo "soak: sockproxy panicked" >&2; status=1; fi
echo "soak: samples in $out/soak.csv"
[ "$status" = 0 ] && echo "soak: PASS" || echo "soak: FAIL" >&2
exit "$status"
