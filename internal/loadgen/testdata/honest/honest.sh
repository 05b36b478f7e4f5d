#!/bin/sh
# Honesty checks of loadgen (not deterministic, so not a test):
#  1. closed-loop req/s against a fixed Go server agrees with wrk;
#  2. an open loop shows a slow request every 50 (10ms) at p99, and a 200ms
#     stall in p99.9 and max, where a closed loop hides most of it;
#  3. loadgen's own ceiling: the same scenario straight to a Unix socket.
# Usage: internal/loadgen/testdata/honest/honest.sh [ROUNDS] [SECONDS]
set -eu
ROUNDS=${1:-5}
SECS=${2:-5}
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
tmp=$(mktemp -d /tmp/lg-honest.XXXX)
port=18080
go build -o "$tmp/honest" ./internal/loadgen/testdata/honest
go build -o "$tmp/loadgen" ./cmd/loadgen
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
start() { # start ARGS...: the server on $port and $tmp/h.sock
	"$tmp/honest" -listen 127.0.0.1:$port -socket "$tmp/h.sock" "$@" & pids="$pids $!"
	i=0; until curl -s "http://127.0.0.1:$port/_ping" >/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done
}
stop() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=""; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
lg() { "$tmp/loadgen" -format json "$@" | awk -F'[:,]' '/"req_per_s"/ {print $2+0}'; }

echo "== 1. closed loop, 16 connections, ${SECS}s, $ROUNDS alternating rounds (median req/s)"
start
: >"$tmp/wrk"; : >"$tmp/raw"; : >"$tmp/std"
for r in $(seq "$ROUNDS"); do
	wrk -t2 -c16 -d${SECS}s "http://127.0.0.1:$port/_ping" | awk '/Requests\/sec/ {print $2}' >>"$tmp/wrk"
	lg -target "http://127.0.0.1:$port" -scenario ping -c 16 -d ${SECS}s >>"$tmp/raw"
	lg -target "http://127.0.0.1:$port" -scenario ping -c 16 -d ${SECS}s -client std >>"$tmp/std"
done
w=$(median <"$tmp/wrk"); l=$(median <"$tmp/raw"); s=$(median <"$tmp/std")
echo "wrk            $w req/s   (rounds: $(tr '\n' ' ' <"$tmp/wrk"))"
echo "loadgen raw    $l req/s   ($(awk -v a="$l" -v b="$w" 'BEGIN{printf "%+.1f%%", 100*(a-b)/b}') vs wrk; rounds: $(tr '\n' ' ' <"$tmp/raw"))"
echo "loadgen std    $s req/s   ($(awk -v a="$s" -v b="$w" 'BEGIN{printf "%+.1f%%", 100*(a-b)/b}') vs wrk; rounds: $(tr '\n' ' ' <"$tmp/std"))"

echo "== 3. ceiling: the same, straight to the Unix socket"
"$tmp/loadgen" -target "unix://$tmp/h.sock" -scenario ping -c 16 -d ${SECS}s | sed 's/^/   /'
stop

echo "== 2a. every 50th request sleeps 10ms: open loop 1000 req/s, ${SECS}s"
start -slow-every 50 -slow 10ms
"$tmp/loadgen" -target "http://127.0.0.1:$port" -scenario ping -rate 1000 -d ${SECS}s | sed 's/^/   /'
stop
echo "== 2b. one 200ms stall 2s in: open loop 1000 req/s, then closed loop -c 16, ${SECS}s each"
start -stall-at 2s -stall 200ms
"$tmp/loadgen" -target "http://127.0.0.1:$port" -scenario ping -rate 1000 -d ${SECS}s | sed 's/^/   /'
stop
start -stall-at 2s -stall 200ms
"$tmp/loadgen" -target "http://127.0.0.1:$port" -scenario ping -c 16 -d ${SECS}s | sed 's/^/   /'
stop
