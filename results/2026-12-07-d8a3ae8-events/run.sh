#!/bin/bash
# Event delivery delay against the peers, one suite invocation: 10 interleaved rounds of the events run
# (1 /events stream, an event every 10 ms, 150 events) through direct, sockproxy lean-raw (d8a3ae8),
# HAProxy (defaults and tuned) and nginx (defaults and tuned); nothing else.
set -u
cd "$(dirname "$0")"
/tmp/ab/labsuite -loadgen /tmp/ab/loadgen -sockproxy /tmp/ab/sockproxy-d8a -peers haproxy,haproxy-tuned,nginx,nginx-tuned,relay \
  -relay /tmp/ab/relay -sockproxies lean-raw -rounds 10 -closed "events:1:n=150:every=10ms" -fixed "" -streams 0 -stream-counts "" \
  -sweep "" -mem-repeats 0 -out loadgen.txt 2> suite-log.txt
