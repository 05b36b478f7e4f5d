#!/usr/bin/env bash
# e2e-podman.sh runs the end-to-end suite (./e2e: the docker CLI and the Go
# SDK through every proxy mode) against Podman's Docker-compatible API
# service instead of a sandboxed dockerd.
#
# Everything Podman keeps lives in one short temporary directory D, so the
# machine's own Podman storage is never touched:
#
#	D/containers.conf  CONTAINERS_CONF: ulimits, cgroupfs, a file events log, D/tmp
#	D/root, D/run      --root and --runroot (images, layers, container state)
#	D/podman.sock      the API socket the suite uses (SOCKPROXY_E2E_ENGINE)
#	D/podman.log       the service's output
#
# The service is stopped by the PID this script recorded, whatever is still
# mounted under D is unmounted, and D is removed; the exit status is the
# test's. Without podman it prints how to install it and exits 0.
#
# Environment: GO (default go), E2E_FLAGS (extra go test flags, e.g. -race
# or -run 'TestCLI').
source "$(dirname "$0")/lib.sh"

if ! command -v podman >/dev/null 2>&1; then
	echo "e2e-podman: skipped: podman is not installed (apt-get install podman)"
	exit 0
fi

D=$(mktemp -d /tmp/pdm.XXXXXX)
pid=""

# podman_d runs podman on D's storage and configuration.
podman_d() { podman --root "$D/root" --runroot "$D/run" "$@"; }

# conmon_pids prints the pids of the conmon monitors of D's containers and
# execs: conmon daemonizes away from the service, and an exec's conmon
# lingers (exit_command_delay) after the exec ends. Only a process whose
# command line names D is ours.
conmon_pids() {
	local p
	for p in $(pgrep -x conmon 2>/dev/null); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$D/" && echo "$p"
	done
	return 0
}

cleanup() {
	local rc=$? p
	if [ -n "$pid" ]; then
		podman_d rm --all --force --time 0 >/dev/null 2>&1 || true
	fi
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "e2e-podman: podman service pid $pid ignored SIGTERM for 10s; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	fi
	for p in $(conmon_pids); do
		kill -KILL "$p" 2>/dev/null || true
	done
	# Deepest mount points first; lazy unmount for anything still busy.
	awk -v d="$D/" 'index($2, d) == 1 { print length($2), $2 }' /proc/self/mounts |
		sort -rn | cut -d' ' -f2- | while read -r m; do
		m=$(printf '%b' "$m") # undo the \040 escapes of /proc/self/mounts
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
			echo "e2e-podman: could not unmount $m" >&2
	done
	rm -rf "$D" || echo "e2e-podman: could not remove $D" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$D/tmp"
cat >"$D/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$D/tmp/events.log"
tmp_dir = "$D/tmp"
EOF
export CONTAINERS_CONF="$D/containers.conf"
unset DOCKER_HOST CONTAINER_HOST

sock="$D/podman.sock"
# Not through podman_d: $! must be podman's own pid, not a subshell's.
podman --root "$D/root" --runroot "$D/run" --log-level=info system service --time=0 "unix://$sock" >"$D/podman.log" 2>&1 &
pid=$!
echo "e2e-podman: $(podman --version), service pid $pid in $D"

ready=0
for _ in $(seq 1 300); do # 30 s
	if curl -sf --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
		ready=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	echo "e2e-podman: the podman service did not answer GET /_ping on $sock within 30s; its log:" >&2
	tail -n 20 "$D/podman.log" >&2
	exit 1
fi

status=0
# shellcheck disable=SC2086
(cd "$ROOT" && SOCKPROXY_E2E=1 SOCKPROXY_E2E_ENGINE="$sock" \
	$GO test -count=1 -timeout 20m ${E2E_FLAGS:-} ./e2e/ -v) || status=$?
if [ "$status" != 0 ]; then
	echo "e2e-podman: tests failed ($status); last lines of the podman service log:" >&2
	tail -n 20 "$D/podman.log" >&2
fi
exit "$status"
