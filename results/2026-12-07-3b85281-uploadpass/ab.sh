#!/bin/bash
# Interleaved A/B of two sockproxy binaries on the suite's upload and chunked-download runs (lean-raw).
# A = before (old), B = after (new); order alternates each round.
set -u
cd "$(dirname "$0")"
runs="load:64MiB:16:rate=4:d=1s,load-chunked:64MiB:16:rate=4:d=1s,chunked:64MiB:16:rate=4:d=1.5s"
one() { # $1 label, $2 binary
  /tmp/ab/labsuite -loadgen /tmp/ab/loadgen -sockproxy "$2" -peers "" -sockproxies lean-raw -rounds 1 \
    -closed "" -fixed "$runs" -streams 0 -stream-counts "" -sweep "" -mem-repeats 0 \
    -out "$1.txt" 2>>"$1.log"
}
for r in $(seq 1 ${ROUNDS:-10}); do
  if (( r % 2 )); then one A /tmp/ab/sockproxy-old; one B /tmp/ab/sockproxy-new
  else one B /tmp/ab/sockproxy-new; one A /tmp/ab/sockproxy-old; fi
done
