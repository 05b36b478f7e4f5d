#!/bin/bash
# Buffer size: B (256 KiB) against B64 and B1024, lean-raw with nginx-tuned beside, interleaved.
B=/tmp/chunkpass/binB
for i in $(seq 1 5); do
  for v in B B64 B1024; do
    taskset -c 0 $B/labsuite -loadgen $B/loadgen -sockproxy /tmp/chunkpass/bin$v/sockproxy -upstream-bin $B/upstream \
      -out /tmp/chunkpass/suite2/$v.txt -rounds 1 -closed chunked:64MiB:4:n=8 -fixed '' -sweep '' -streams 0 -stream-counts '' \
      -sockproxies lean-raw -peers nginx-tuned >> /tmp/chunkpass/suite2/log 2>&1
  done
done
echo done >> /tmp/chunkpass/suite2/log
