#!/bin/bash
# events delivery delay through lean, old vs new, interleaved
# BIN holds old/, v1/ and new/, each with sockproxy and loadgen (go build -o BIN/X/ ./cmd/sockproxy ./cmd/loadgen at ca31cf7, 7bad0a7, 3a8803a).
BIN=${BIN:-/tmp/leanpark}
d=$(mktemp -d /tmp/lpe.XXXX)
$BIN/new/upstream -socket $d/up.sock 2>/dev/null & up=$!
sleep 0.3
for r in 1 2 3 4 5; do for v in old v1 new; do
  taskset -c 1 $BIN/$v/sockproxy -listen 127.0.0.1:0 -socket $d/up.sock -strategy lean -transport raw 2>/dev/null & sp=$!
  sleep 0.4
  port=$(ss -ltnp 2>/dev/null | grep "pid=$sp," | awk '{print $4}' | sed 's/.*://')
  taskset -c 0 $BIN/$v/loadgen -target http://127.0.0.1:$port -scenario events -every 10ms -c 32 -n 3000 -format bench -name sockproxy-lean-raw-$v 2>&1 | grep Benchmark
  kill $sp; wait $sp 2>/dev/null
done; done
kill $up; wait $up 2>/dev/null; rm -rf $d
