#!/bin/bash
# Re-park delay A/B: A = d3a95e3 (a woken stream parks again after the park delay, 1ms), B = the same
# with a woken stream waiting 50ms for its next event before it parks again (leanRepark); the suite's
# events run (1 stream, an event every 10 ms, 150 events) and idle-stream memory (1000 after the run;
# 1000 and 4000 fresh). ABBA order.
set -u
cd "$(dirname "$0")"
one() {
  /tmp/ab/labsuite -loadgen /tmp/ab/loadgen -sockproxy "$2" -peers "" -sockproxies lean-raw -rounds 1 \
    -closed "events:1:n=150:every=10ms" -fixed "" -streams 1000 -stream-counts "1000,4000" -sweep "" -mem-repeats 1 \
    -out "$1.txt" 2>>"$1.log"
}
for r in $(seq 1 ${ROUNDS:-8}); do
  if (( r % 2 )); then one A /tmp/ab/sockproxy-head; one B /tmp/ab/sockproxy-repark
  else one B /tmp/ab/sockproxy-repark; one A /tmp/ab/sockproxy-head; fi
done
