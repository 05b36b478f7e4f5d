#!/bin/bash
# Interleaved A/B of issue 17's fixes: old = 1ef3ad0, new = main after them (same bench code).
cd /tmp/ab17
STD='BenchmarkProxy/strategy=(direct|stdlib|pooled|splice-chunked)$/shape=(ping|json|chunked)$/(conc|size=(1536B|1MiB))'
RAW='BenchmarkProxy/strategy=(stdlib|pooled|splice-chunked)$/transport=raw/shape=(ping|json|chunked)$/(conc|size=(1536B|1MiB))'
for i in $(seq 1 10); do
  if [ $((i % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
  for v in $order; do
    for pat in "$STD" "$RAW"; do
      /tmp/ab-$v.test -test.run '^$' -test.bench "$pat" -test.benchtime=0.2s -test.count=1 >> $v.txt 2>>err.txt
    done
  done
  echo "round $i done $(date +%T)" >> progress.txt
done
echo finished >> progress.txt
