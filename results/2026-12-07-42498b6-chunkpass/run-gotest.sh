#!/bin/sh
# Interleaved A/B: A = main (base), B = chunkpass; the chunked rows.
cd /work/wt/chunkpass/bench
for i in $(seq 1 10); do
  for v in A B; do
    /tmp/chunkpass/$v.test -test.run '^$' -test.bench 'BenchmarkProxy/^strategy=(lean|splice-chunked)$/^transport=raw$/^shape=chunked$' -test.count 1 -test.benchmem >> /tmp/chunkpass/r2/ab/$v.txt 2>&1
    /tmp/chunkpass/$v.test -test.run '^$' -test.bench 'BenchmarkProxy/^strategy=direct$/^shape=chunked$' -test.count 1 -test.benchmem >> /tmp/chunkpass/r2/ab/$v.txt 2>&1
  done
done
echo done > /tmp/chunkpass/r2/ab/done
