#!/bin/bash
BIN=/tmp/pk
d=$(mktemp -d /tmp/pke.XXXX)
$BIN/upstream -socket $d/up.sock 2>/dev/null & up=$!
sleep 0.3
port=28500
for r in 1 2 3 4 5 6; do for v in 1ms 50ms never direct; do
  port=$((port+1))
  if [ $v = direct ]; then
    taskset -c 0 $BIN/loadgen -target unix://$d/up.sock -scenario events -every 10ms -c 32 -n 3000 -format bench -name direct 2>&1 | grep Benchmark
    continue
  fi
  taskset -c 1 $BIN/sockproxy -listen 127.0.0.1:$port -socket $d/up.sock -strategy lean -park-idle $v 2>/dev/null & sp=$!
  for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
  taskset -c 0 $BIN/loadgen -target http://127.0.0.1:$port -scenario events -every 10ms -c 32 -n 3000 -format bench -name lean-park-$v 2>&1 | grep Benchmark
  kill $sp; wait $sp 2>/dev/null
done; done
kill $up; wait $up 2>/dev/null; rm -rf $d
