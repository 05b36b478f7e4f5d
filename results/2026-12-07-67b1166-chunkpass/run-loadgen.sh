#!/bin/bash
# Interleaved cross-process A/B: the suite's chunked 64 MiB run (conc 4, n=8)
# through lean-raw and splice-chunked-raw of sockproxy A (main) and B
# (chunkpass), with direct and nginx-tuned beside them; the harness on CPU 0.
B=/tmp/chunkpass/binB
for i in $(seq 1 6); do
  for v in A B; do
    if [ $((i % 2)) = 0 ]; then v=$([ $v = A ] && echo B || echo A); fi
    echo "round $i $v $(date -u +%T)" >> /tmp/chunkpass/r3/suite/log
    taskset -c 0 $B/labsuite -loadgen $B/loadgen -sockproxy /tmp/chunkpass/bin$v/sockproxy -upstream-bin $B/upstream \
      -out /tmp/chunkpass/r3/suite/$v.txt -rounds 1 -closed chunked:64MiB:4:n=8 -fixed '' -sweep '' -streams 0 -stream-counts '' \
      -sockproxies lean-raw,splice-chunked-raw -peers nginx-tuned >> /tmp/chunkpass/r3/suite/log 2>&1
  done
done
echo done >> /tmp/chunkpass/r3/suite/log
