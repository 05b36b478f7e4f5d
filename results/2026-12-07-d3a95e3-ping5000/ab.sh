#!/bin/bash
# Ping at 5,000/s open loop (the sweep's point), A = c68f9d3 (the run where lean kept 5,000/s),
# B = d3a95e3 (this session's head); lean-raw, ABBA, 8 rounds.
set -u
cd "$(dirname "$0")"
one() {
  /tmp/ab/labsuite -loadgen /tmp/ab/loadgen -sockproxy "$2" -peers "" -sockproxies lean-raw -rounds 1 \
    -closed "" -fixed "ping:256:rate=5000:d=1s,ping:256:rate=2000:d=1s" -streams 0 -stream-counts "" -sweep "" -mem-repeats 0 \
    -out "$1.txt" 2>>"$1.log"
}
for r in $(seq 1 ${ROUNDS:-8}); do
  if (( r % 2 )); then one A /tmp/ab/sockproxy-c68; one B /tmp/ab/sockproxy-head
  else one B /tmp/ab/sockproxy-head; one A /tmp/ab/sockproxy-c68; fi
done
