#!/bin/bash
# strace -f -c of the sockproxy process alone (lean, raw transport) while
# loadgen fetches N chunked 64 MiB bodies, one at a time, from the upstream
# simulator through it: system calls per 64 MiB, A (main) against B.
v=$1; N=${2:-8}; out=$3
B=/tmp/chunkpass/binB
d=$(mktemp -d /tmp/cpst.XXXX)
$B/upstream -socket $d/up.sock & up=$!
for i in $(seq 100); do [ -S $d/up.sock ] && break; sleep 0.05; done
port=$((20000 + RANDOM % 20000))
strace -f -c -o $out -e trace=read,write,writev,readv,recvfrom,sendto,recvmsg,sendmsg,splice,epoll_pwait,epoll_wait,futex,nanosleep \
  /tmp/chunkpass/bin$v/sockproxy -listen 127.0.0.1:$port -socket $d/up.sock -strategy lean -transport raw 2>/dev/null & px=$!
for i in $(seq 100); do $B/loadgen -target http://127.0.0.1:$port -scenario ping -n 1 -c 1 >/dev/null 2>&1 && break; sleep 0.1; done
$B/loadgen -target http://127.0.0.1:$port -scenario chunked -size 64MiB -c 1 -n $N -format bench -name sockproxy-lean-raw
kill -INT $(pgrep -P $px); wait $px
kill $up; wait $up 2>/dev/null
rm -rf $d
