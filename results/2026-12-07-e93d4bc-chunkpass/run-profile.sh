#!/bin/bash
# CPU profile of sockproxy (lean, raw) pinned to CPU 1 while loadgen
# (CPU 0) fetches chunked 64 MiB bodies, 4 at a time.
v=$1
B=/tmp/chunkpass/binB
d=$(mktemp -d /tmp/cppr.XXXX)
taskset -c 0 $B/upstream -socket $d/up.sock & up=$!
for i in $(seq 100); do [ -S $d/up.sock ] && break; sleep 0.05; done
port=$((20000 + RANDOM % 20000))
taskset -c 1 /tmp/chunkpass/bin$v/sockproxy -listen 127.0.0.1:$port -socket $d/up.sock -strategy lean -transport raw -profile cpu -profile-dir /tmp/chunkpass/prof/$v 2>/tmp/chunkpass/prof/$v.log & px=$!
for i in $(seq 100); do $B/loadgen -target http://127.0.0.1:$port -scenario ping -n 1 -c 1 >/dev/null 2>&1 && break; sleep 0.1; done
taskset -c 0 $B/loadgen -target http://127.0.0.1:$port -scenario chunked -size 64MiB -c 4 -n 32 -format bench -name sockproxy-lean-raw
kill -INT $px; wait $px
kill $up; wait $up 2>/dev/null
rm -rf $d
