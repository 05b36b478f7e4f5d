package dockerd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrUnavailable is wrapped by the errors of Available, BusyboxAvailable,
// Start and EnsureImages when this machine cannot run the engine or build
// its images at all (not root, dockerd or busybox-static missing), as
// opposed to an engine that was tried and failed.
var ErrUnavailable = errors.New("docker engine unavailable")

// Timeouts of Start and Close.
const (
	// ReadyTimeout bounds how long Start waits for GET /_ping to answer.
	ReadyTimeout = 60 * time.Second
	// StopTimeout bounds how long Close waits after SIGTERM before SIGKILL.
	StopTimeout = 30 * time.Second
)

// Daemon is a running Docker-API engine: a dockerd started by Start, or an
// engine started by someone else that Attach wraps. Its methods are safe for
// concurrent use, except Close, which must be called once, last.
type Daemon struct {
	socket  string // the API socket; set for every Daemon
	dir     string // the state directory D; "" when attached
	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{} // closed when cmd.Wait has returned
	waitErr error         // cmd.Wait's result, valid once exited is closed
}

// Available reports whether Start can be tried here: the caller is root and
// dockerd is installed. The error wraps ErrUnavailable and says what is
// missing.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: dockerd needs root (euid is %d)", ErrUnavailable, os.Geteuid())
	}
	if _, err := lookDockerd(); err != nil {
		return err
	}
	return nil
}

// lookDockerd finds the dockerd binary on PATH or in /usr/sbin, which a
// non-login PATH may lack.
func lookDockerd() (string, error) {
	if p, err := exec.LookPath("dockerd"); err == nil {
		return p, nil
	}
	const deb = "/usr/sbin/dockerd"
	if _, err := os.Stat(deb); err == nil {
		return deb, nil
	}
	return "", fmt.Errorf("%w: dockerd not found on PATH or at /usr/sbin/dockerd (apt-get install docker.io)", ErrUnavailable)
}

// Start launches dockerd in a fresh directory under os.TempDir() and returns
// once its API answers GET /_ping, or fails after ReadyTimeout (or when ctx
// is done) with the tail of its log. On failure nothing is left behind.
func Start(ctx context.Context) (*Daemon, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	bin, err := lookDockerd()
	if err != nil {
		return nil, err
	}
	sweepStale()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("dockerd: make state dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dockerd: write owner pid: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dockerd: create log: %w", err)
	}
	d := &Daemon{socket: filepath.Join(dir, "docker.sock"), dir: dir, logFile: logFile, exited: make(chan struct{})}
	d.cmd = exec.Command(bin,
		"--host", "unix://"+d.Socket(),
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
		"--bridge=none",
		"--storage-driver=overlay2",
	)
	d.cmd.Dir = dir
	d.cmd.Stdout = logFile
	d.cmd.Stderr = logFile
	d.cmd.Env = daemonEnv()
	// Pdeathsig: a test binary killed by a timeout must not leave a daemon
	// running; SIGTERM lets dockerd stop its containerd too. The kernel
	// sends it when the forking *thread* exits, so the fork happens on a
	// locked thread that lives until dockerd has exited.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := d.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	if err := <-started; err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dockerd: start %s: %w", bin, err)
	}

	if err := d.waitReady(ctx); err != nil {
		tail := d.LogTail(20)
		if cerr := d.close(false); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, fmt.Errorf("%w\n--- last lines of dockerd.log ---\n%s", err, tail)
	}
	return d, nil
}

// Attach wraps an engine that is already running and that the caller
// owns, such as Podman's Docker-compatible service, listening on the Unix
// socket at path. It checks that GET /_ping answers (within ReadyTimeout,
// or until ctx is done) and starts, stops and removes nothing: Close of an
// attached Daemon does nothing, Dir and LogTail are empty and Pid is 0.
// EnsureImages and Client work as for a started daemon.
func Attach(ctx context.Context, path string) (*Daemon, error) {
	if path == "" {
		return nil, errors.New("dockerd: attach: empty socket path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("dockerd: attach %s: %w", path, err)
	}
	d := &Daemon{socket: abs}
	if err := d.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("dockerd: attach %s: %w", abs, err)
	}
	return d, nil
}

// Attached reports whether d wraps an engine that Attach found running,
// rather than one Start launched.
func (d *Daemon) Attached() bool { return d.cmd == nil }

// dirPrefix starts the name of every state directory under os.TempDir().
const dirPrefix = "dkd"

// ownerFile, in a state directory, holds the pid of the process that
// called Start.
const ownerFile = "owner.pid"

// sweepStale removes the state directories that a killed test binary left
// behind (its dockerd got SIGTERM through Pdeathsig, but Close never ran):
// those whose owner.pid names a process that no longer exists. A directory
// without one may belong to a Start running right now; it stays.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		if unmountUnder(dir) == nil {
			os.RemoveAll(dir)
		}
	}
}

// daemonEnv is the caller's environment with the sbin directories, where
// Debian puts dockerd's helpers, on PATH and any DOCKER_HOST removed.
func daemonEnv() []string {
	var env []string
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "PATH="):
			path = kv[len("PATH="):] + ":" + path
		case strings.HasPrefix(kv, "DOCKER_"):
		default:
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+path)
}

// waitReady polls GET /_ping until it answers 200, the process exits, ctx is
// done or ReadyTimeout passes.
func (d *Daemon) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	hc := d.HTTPClient()
	defer hc.CloseIdleConnections()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = d.ping(ctx, hc); last == nil {
			return nil
		}
		select {
		case <-d.exited: // nil, so never ready, when attached
			return fmt.Errorf("dockerd: exited before its API answered (%v)", d.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("dockerd: GET /_ping on %s did not answer within %v: %w (last error: %v)",
				d.Socket(), ReadyTimeout, context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

func (d *Daemon) ping(ctx context.Context, hc *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_ping: status %s, body %q", resp.Status, body)
	}
	return nil
}

// Dir returns the daemon's state directory D, or "" when attached.
func (d *Daemon) Dir() string { return d.dir }

// Socket returns the path of the daemon's API socket: D/docker.sock, or the
// path given to Attach.
func (d *Daemon) Socket() string { return d.socket }

// Host returns the socket as a DOCKER_HOST value: "unix://" + Socket().
func (d *Daemon) Host() string { return "unix://" + d.Socket() }

// Pid returns the process id of the dockerd that Start launched, or 0 when
// attached.
func (d *Daemon) Pid() int {
	if d.cmd == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// HTTPClient returns an http.Client that dials the daemon's socket whatever
// the URL's host. Callers close its idle connections when done.
func (d *Daemon) HTTPClient() *http.Client {
	sock := d.Socket()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "unix", sock)
		},
	}}
}

// LogTail returns at most the last n lines of D/dockerd.log, or "" when
// attached.
func (d *Daemon) LogTail(n int) string {
	if d.cmd == nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	if err != nil {
		return fmt.Sprintf("(read dockerd.log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Close stops the daemon and removes its directory: SIGTERM to the process
// Start launched, SIGKILL (to it and to the containerd it started) if it has
// not exited after StopTimeout, then every mount left under D is unmounted,
// deepest first, and D is removed. The error joins every step that failed.
// Close of an attached Daemon does nothing: the engine is its owner's.
func (d *Daemon) Close() error {
	if d.cmd == nil {
		return nil
	}
	return d.close(true)
}

// close is Close; early says whether a daemon that had already exited is an
// error (it is not when Start has just reported it).
func (d *Daemon) close(early bool) error {
	var errs []error
	if err := d.stop(early); err != nil {
		errs = append(errs, err)
	}
	d.logFile.Close()
	if err := unmountUnder(d.dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, fmt.Errorf("dockerd: remove %s: %w", d.dir, err))
	}
	return errors.Join(errs...)
}

func (d *Daemon) stop(early bool) error {
	select {
	case <-d.exited:
		if !early {
			return nil
		}
		return fmt.Errorf("dockerd: pid %d had exited before Close (%v); see %s", d.Pid(), d.waitErr,
			filepath.Join(d.dir, "dockerd.log"))
	default:
	}
	// The containerd that dockerd manages; read now, while its pidfile exists.
	containerd := d.containerdPid()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("dockerd: SIGTERM pid %d: %w", d.Pid(), err)
	}
	timer := time.NewTimer(StopTimeout)
	defer timer.Stop()
	select {
	case <-d.exited:
		return nil
	case <-timer.C:
	}
	err := fmt.Errorf("dockerd: pid %d did not exit within %v of SIGTERM; killed", d.Pid(), StopTimeout)
	d.cmd.Process.Kill()
	<-d.exited
	if containerd > 0 {
		syscall.Kill(containerd, syscall.SIGKILL)
	}
	return err
}

// containerdPid returns the pid of the containerd this daemon started, or 0.
// It checks that the process's command line names D, so that a reused pid
// is never signalled.
func (d *Daemon) containerdPid() int {
	b, err := os.ReadFile(filepath.Join(d.dir, "exec", "containerd", "containerd.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(d.dir)) {
		return 0
	}
	return pid
}

// unmountUnder unmounts every mount point below dir listed in
// /proc/self/mounts, deepest first (D/exec/netns/default among them).
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return fmt.Errorf("dockerd: read mounts: %w", err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		p := unescapeMount(fields[1])
		if strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("dockerd: read mounts: %w", err)
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, 0); err != nil {
			// Busy: detach it so the directory can still go.
			if err2 := syscall.Unmount(p, syscall.MNT_DETACH); err2 != nil {
				errs = append(errs, fmt.Errorf("dockerd: unmount %s: %w", p, err2))
			}
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes the octal escapes (\040 for a space) of
// /proc/self/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
