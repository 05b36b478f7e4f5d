// Package dockerd runs a real, sandboxed Docker Engine for end-to-end tests.
//
// Start launches Debian's dockerd (the docker.io package) as a child process
// whose every path lives in one short directory under os.TempDir():
//
//	D/docker.sock   the API socket (kept short: Unix socket paths must stay under ~100 bytes)
//	D/data          --data-root (images, containers, overlay2 layers)
//	D/exec          --exec-root (containerd's and runc's state)
//	D/docker.pid    --pidfile
//	D/dockerd.log   the daemon's stdout and stderr
//	D/owner.pid     the pid of the process that called Start
//
// The daemon touches nothing outside D on the host network: it runs with
// --bridge=none, --iptables=false, --ip6tables=false, --ip-forward=false and
// --ip-masq=false, so there is no default bridge and containers must run
// with --network none. No registry is reachable either: EnsureImages builds
// the images the tests use from local files with an import.
//
// Start returns once GET /_ping answers on the socket, or fails with the tail
// of D/dockerd.log. Close sends SIGTERM to the process Start launched (and
// SIGKILL if it does not exit in time), unmounts whatever is still mounted
// under D, deepest first, and removes D. One Daemon per test binary is the
// intended use: start it in TestMain and share it. A test binary killed
// before Close (a -timeout panic) still stops its dockerd, which gets
// SIGTERM when its parent dies; the next Start removes the directory left
// behind.
//
// Running it needs root and the dockerd binary; Available reports why it
// cannot run, with an error that wraps ErrUnavailable.
//
// # An engine someone else started
//
// Attach wraps an engine that is already listening on a Unix socket — for
// example Podman's Docker-compatible service (podman system service), which
// scripts/e2e-podman.sh starts — once GET /_ping answers there. The caller
// owns that engine: an attached Daemon starts nothing, and its Close does
// nothing (the clients that Client returns are the caller's to close).
// EnsureImages imports the same images through its API.
//
// # Images
//
// EnsureImages imports, through the daemon's socket:
//
//   - BusyboxImage (lab/busybox:latest): a root filesystem holding the
//     static busybox of Debian's busybox-static package at /bin/busybox, a
//     symlink /bin/NAME → busybox for each applet it lists, /tmp, /etc/passwd
//     and /etc/group; CMD ["sh"], PATH=/bin.
//   - BigImage (lab/big:latest): one file, /blob, of BigSize (128 MiB) bytes
//     that do not compress, read from math/rand/v2's ChaCha8 generator with
//     the fixed seed BigSeed, so the same bytes come out on every machine.
//     It exists to move a large body through a proxy (docker save / load).
package dockerd
