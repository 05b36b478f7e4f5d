#!/bin/bash
# Interleaved A/B of the lean front end's fixes after the reference run: old = 7e4e330, new = the fixes.
cd /tmp/ab22  # old.test built at 7e4e330, new.test at 69c49fe (go test -c ./bench)
PAT='BenchmarkProxy/strategy=lean$/transport=raw$/shape=(ping|blob|chunked|load|load-chunked)$/(conc=64|size=(1MiB|64MiB))'
for i in $(seq 1 10); do
  if [ $((i % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
  for v in $order; do
    ./$v.test -test.run '^$' -test.bench "$PAT" -test.benchtime=0.2s -test.count=1 >> $v.txt 2>>err.txt
  done
  echo "round $i done $(date +%T)" >> progress.txt
done
echo finished >> progress.txt
