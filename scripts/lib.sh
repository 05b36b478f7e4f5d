# Shared shell glue for the make targets. Source it; it sets -euo pipefail.
set -euo pipefail
GO=${GO:-go}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# new_results_dir prints a fresh results/<YYYY-MM-DD>-<shortsha>[-dirty][-N] path and creates it.
new_results_dir() {
	local sha dirty="" base dir n=1
	sha=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo nogit)
	if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty="-dirty"; fi
	base="$ROOT/results/$(date -u +%Y-%m-%d)-$sha$dirty"
	dir=$base
	while [ -e "$dir" ]; do n=$((n + 1)); dir="$base-$n"; done
	mkdir -p "$dir"
	echo "$dir"
}

# write_env DIR [KEY=VALUE...] records the machine and the run's settings in DIR/env.txt.
write_env() {
	local dir=$1; shift
	{
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "commit: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)$([ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] && echo ' (dirty)')"
		echo "go: $($GO version)"
		echo "kernel: $(uname -srm)"
		echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
		echo "cores: $(nproc)"
		echo "GOMAXPROCS: ${GOMAXPROCS:-$(nproc)}"
		echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
		echo "loadavg-at-start: $(cut -d' ' -f1-3 /proc/loadavg)"
		for kv in "$@"; do echo "${kv%%=*}: ${kv#*=}"; done
	} >"$dir/env.txt"
}

# benchstat runs the module's pinned benchstat.
benchstat() { (cd "$ROOT" && $GO tool benchstat "$@"); }

# peer_versions prints the versions of the installed peers the suite can run.
peer_versions() {
	local out="" v
	# Version commands exit non-zero on some tools (wrk -v): never fail on them.
	if command -v socat >/dev/null; then v=$(socat -V 2>/dev/null | awk '/socat version/ {print $3}') || true; out+="socat $v; "; fi
	if command -v haproxy >/dev/null; then v=$(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}') || true; out+="haproxy $v; "; fi
	if command -v nginx >/dev/null; then v=$(nginx -v 2>&1 | sed 's|.*nginx/||') || true; out+="nginx $v; "; fi
	if [ -n "${CADDY:-}" ] && [ -x "$CADDY" ]; then v=$($GO version -m "$CADDY" 2>/dev/null | awk '$1 == "mod" {print $3}') || true; out+="caddy $v; "; fi
	if command -v wrk >/dev/null; then v=$(wrk -v 2>&1 | awk 'NR==1 {print $2}') || true; out+="wrk $v; "; fi
	echo "${out:-none}"
}

# wait_for DESC CMD...: poll CMD every 0.1 s for up to 10 s; on failure say,
# prefixed with the script's name, what was not there.
wait_for() {
	local desc=$1 i
	shift
	for i in $(seq 100); do
		if "$@" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "$(basename "$0" .sh): gave up waiting for $desc" >&2
	return 1
}
