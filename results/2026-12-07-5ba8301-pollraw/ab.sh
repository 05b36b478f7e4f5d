#!/bin/bash
# Event delay A/B: A = 3b85281 (the lean poller's epoll_wait a scheduled system call), B = the same with
# epoll_wait made a raw system call (zero timeout); default -park-idle (1ms); the suite's events run
# (1 stream, an event every 10 ms, 150 events) and its ping at 2000/s. ABBA order.
set -u
cd "$(dirname "$0")"
one() {
  /tmp/ab/labsuite -loadgen /tmp/ab/loadgen -sockproxy "$2" -peers "" -sockproxies lean-raw -rounds 1 \
    -closed "events:1:n=150:every=10ms" -fixed "ping:256:rate=2000:d=1s" -streams 0 -stream-counts "" -sweep "" -mem-repeats 0 \
    -out "$1.txt" 2>>"$1.log"
}
for r in $(seq 1 ${ROUNDS:-10}); do
  if (( r % 2 )); then one A /tmp/ab/sockproxy-new; one B /tmp/ab/sockproxy-raw
  else one B /tmp/ab/sockproxy-raw; one A /tmp/ab/sockproxy-new; fi
done
