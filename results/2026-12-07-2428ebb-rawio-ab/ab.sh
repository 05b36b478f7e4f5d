#!/bin/bash
# usage: ab.sh rounds rate  -> prints variant cpu_us_per_req
cd /tmp/prof
port=28400
for r in $(seq 1 $1); do
 for v in A B; do
  port=$((port+1))
  taskset -c 1 ./sockproxy.$v -listen 127.0.0.1:$port -socket /tmp/prof/up.sock -strategy ${STRAT:-lean} >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
  out=$(taskset -c 0 ./loadgen -target http://127.0.0.1:$port -scenario ${SCEN:-ping} -rate $2 -d 5s -warmup 1s 2>&1)
  reqs=$(echo "$out" | awk '/^requests/{print $2}')
  t=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill -INT $pid; wait $pid 2>/dev/null
  echo "$v $(echo "$t $reqs" | awk '{printf "%.1f", $1*10000/($2*1.2)}') $(echo "$out" | awk '/latency/{print $3,$5}')"
 done
done
