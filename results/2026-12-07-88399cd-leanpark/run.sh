#!/bin/bash
# Idle-stream memory (the suite's streams-fresh scenario only) and the lean ping/chunked rows of
# BenchmarkProxy, old (main at ca31cf7) against new (leanpark), interleaved rounds in one run.
# OLD and NEW hold each side's binaries: go build -o $X/ ./cmd/{loadgen,sockproxy,labsuite,upstream,relay};
# go test -c -o $X/bench.test ./bench.
set -u
OLD=${OLD:-/tmp/leanpark/old} NEW=${NEW:-/tmp/leanpark/new} OUT=${OUT:-.}
for r in 1 2 3; do
  for v in old new; do
    bin=$OLD; [ $v = new ] && bin=$NEW
    echo "memory round $r: $v" >&2
    taskset -c 0 $bin/labsuite -loadgen $bin/loadgen -sockproxy $bin/sockproxy -upstream-bin $bin/upstream -relay "" \
      -out $OUT/loadgen-$v.txt -rounds 1 -closed "" -fixed "" -sweep "" -streams 0 \
      -stream-counts 1000,2000 -mem-repeats 1 -settle 1s -sockproxies lean-raw,splice-chunked-raw -peers "" 2>>$OUT/suite-log.txt
  done
done
for r in $(seq 1 10); do
  for v in old new; do
    bin=$OLD; [ $v = new ] && bin=$NEW
    (cd "$(dirname "$0")/../../bench" && $bin/bench.test -test.run '^$' -test.bench 'Proxy/strategy=lean/transport=raw/shape=(ping|chunked)' \
      -test.benchtime 0.2s -test.count 1 -test.benchmem) | grep '^Benchmark' >> $OUT/gotest-$v.txt
  done
done
