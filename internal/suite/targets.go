package suite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// A Target is one thing loadgen measures: the upstream itself (direct) or a
// proxy process in front of it.
type Target struct {
	// Name is loadgen's -name: direct, sockproxy-<strategy>[-raw], socat, haproxy, nginx.
	Name string
	// URL is loadgen's -target.
	URL  string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited and been waited for
}

// PID returns the proxy process's PID, or 0 for direct.
func (t *Target) PID() int {
	if t.cmd == nil || t.cmd.Process == nil {
		return 0
	}
	return t.cmd.Process.Pid
}

// Stop ends the proxy process (SIGTERM, then SIGKILL after a grace period)
// and waits for it.
func (t *Target) Stop() {
	if t.cmd == nil || t.cmd.Process == nil {
		return
	}
	t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		<-t.done
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startProc starts argv pinned to cpus (a taskset list, "" for none), with
// its output in logPath, and waits until addr accepts connections.
func startProc(ctx context.Context, name, cpus, logPath, addr string, argv ...string) (*Target, error) {
	if cpus != "" {
		if tp, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{tp, "-c", cpus}, argv...)
		}
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	logf.Close()
	t := &Target{Name: name, URL: "http://" + addr, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(t.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return t, nil
		}
		exited := false
		select {
		case <-t.done:
			exited = true
		default:
		}
		if exited || time.Now().After(deadline) || ctx.Err() != nil {
			t.Stop()
			tail, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s did not listen on %s (exited: %v): %v\n%s", name, addr, exited, err, lastLines(tail, 10))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastLines(b []byte, n int) string {
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			lines++
			if lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// startSockproxy starts one sockproxy for a strategy over a transport
// ("std" or "raw"); its name is sockproxy-<strategy>, with -raw appended
// for the raw transport.
func startSockproxy(ctx context.Context, bin, socket, strategy, transport, cpus, dir string, maxConns int) (*Target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	name := "sockproxy-" + strategy
	if transport == "raw" {
		name += "-raw"
	}
	argv := []string{bin, "-listen", addr, "-socket", socket, "-strategy", strategy, "-max-conns", strconv.Itoa(maxConns)}
	if transport == "" {
		transport = "std"
	}
	argv = append(argv, "-transport", transport) // always: sockproxy's default depends on the strategy
	return startProc(ctx, name, cpus, filepath.Join(dir, name+".log"), addr, argv...)
}

// startSocat starts socat forking one child per connection, with a listen
// backlog raised from its default of 5 (which stalls bursts of connects).
func startSocat(ctx context.Context, socket, cpus, dir string) (*Target, error) {
	bin, addr, port, err := peer("socat")
	if err != nil {
		return nil, err
	}
	return startProc(ctx, "socat", cpus, filepath.Join(dir, "socat.log"), addr, bin,
		fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr,backlog=4096", port), "UNIX-CONNECT:"+socket)
}

const haproxyConf = `global
    maxconn 8192
defaults
    mode http
    option http-no-delay
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend fe
    bind %s
    default_backend be
backend be
    http-reuse always
    server s unix@%s
`

// startHAProxy starts HAProxy in http mode with option http-no-delay
// (without it HAProxy holds streamed events ~100 ms).
func startHAProxy(ctx context.Context, socket, cpus, dir string) (*Target, error) {
	bin, addr, _, err := peer("haproxy")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, fmt.Appendf(nil, haproxyConf, addr, socket), 0o644); err != nil {
		return nil, err
	}
	return startProc(ctx, "haproxy", cpus, filepath.Join(dir, "haproxy.log"), addr, bin, "-db", "-f", conf)
}

const nginxConf = `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
    upstream docker { server unix:%[2]s; keepalive 64; }
    server {
        listen %[3]s;
        location / {
            proxy_pass http://docker;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 1h;
        }
    }
}
`

// startNginx starts nginx with proxy_buffering off, one worker, no master.
func startNginx(ctx context.Context, socket, cpus, dir string) (*Target, error) {
	bin, addr, _, err := peer("nginx")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, socket, addr), 0o644); err != nil {
		return nil, err
	}
	return startProc(ctx, "nginx", cpus, filepath.Join(dir, "nginx.log"), addr, bin, "-c", conf, "-p", dir)
}

// peer finds the peer's binary and a loopback address for it to listen on;
// errMissing when it is not installed.
func peer(name string) (bin, addr string, port int, err error) {
	if bin, err = exec.LookPath(name); err != nil {
		return "", "", 0, errMissing
	}
	if port, err = freePort(); err != nil {
		return "", "", 0, err
	}
	return bin, "127.0.0.1:" + strconv.Itoa(port), port, nil
}

// errMissing says a peer is not installed; the suite skips it with a line.
var errMissing = errors.New("not installed")
