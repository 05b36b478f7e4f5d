#!/bin/bash
# Interleaved A/B of issue 19's restructuring: old = bd15b75 (before), new = main after it (same benchmark names).
cd /tmp/ab19
STD='BenchmarkProxy/strategy=(stdlib|pooled|splice-chunked)$/shape=(ping|json|blob|chunked)$/(conc|size=(1536B|1MiB))'
RAW='BenchmarkProxy/strategy=(stdlib|pooled|splice-chunked)$/transport=raw$/shape=(ping|json|blob|chunked)$/(conc|size=(1536B|1MiB))'
for i in $(seq 1 12); do
  if [ $((i % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
  for v in $order; do
    for pat in "$STD" "$RAW"; do
      ./$v.test -test.run '^$' -test.bench "$pat" -test.benchtime=0.2s -test.count=1 >> $v.txt 2>>err.txt
    done
  done
  echo "round $i done $(date +%T)" >> progress.txt
done
echo finished >> progress.txt
