#!/bin/bash
# Park delay A/B: the same sockproxy binary (3b85281) with -park-idle 1ms (A, the default) and 50ms (B),
# on the suite's events run (1 stream, an event every 10 ms, 150 events) and its idle-stream memory
# (1000 streams after the run; 1000 and 4000 on fresh processes). ABBA order.
set -u
cd "$(dirname "$0")"
one() { # $1 label, $2 wrapper (sockproxy -park-idle D "$@")
  /tmp/ab/labsuite -loadgen /tmp/ab/loadgen -sockproxy "$2" -peers "" -sockproxies lean-raw -rounds 1 \
    -closed "events:1:n=150:every=10ms" -fixed "" -streams 1000 -stream-counts "1000,4000" -sweep "" -mem-repeats 1 \
    -out "$1.txt" 2>>"$1.log"
}
for r in $(seq 1 ${ROUNDS:-8}); do
  if (( r % 2 )); then one A /tmp/ab/sp-1ms; one B /tmp/ab/sp-50ms
  else one B /tmp/ab/sp-50ms; one A /tmp/ab/sp-1ms; fi
done
