#!/usr/bin/env bash
# caddy.sh installs Caddy, pinned by version, with `go install` through the
# Go module proxy into $HOME/.cache/sockproxy-lab/bin (outside the repo),
# where `make bench` finds it for the suite's caddy target. Without network
# access it says so and exits 0: the suite then skips caddy with a line.
source "$(dirname "$0")/lib.sh"
CADDY_VERSION=${CADDY_VERSION:-v2.8.4}
bin=$HOME/.cache/sockproxy-lab/bin
mkdir -p "$bin"
if (cd /tmp && GOBIN=$bin GOFLAGS=-mod=mod $GO install "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION"); then
	echo "caddy $CADDY_VERSION: $bin/caddy"
else
	echo "caddy.sh: could not install caddy $CADDY_VERSION; the suite will skip it" >&2
fi
