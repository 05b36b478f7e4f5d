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
	"strings"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/proxy"
)

// A Target is one thing loadgen measures: the upstream itself (direct) or a
// proxy process in front of it.
type Target struct {
	// Name is loadgen's -name: direct, sockproxy-<strategy>[-raw], socat, haproxy, nginx.
	Name string
	// URL is loadgen's -target.
	URL string
	// Argv is the command line the proxy runs with; Conf its
	// configuration file's name and contents ("" for none). Both are
	// written into the results folder (Config.ConfigDir).
	Argv       []string
	ConfName   string
	Conf       []byte
	MaxStreams int // idle streams it can hold here (0: any number)
	// Only names the one scenario the target runs ("" for all); a
	// target with Only runs no rate sweep and no memory measure. A
	// restricted sockproxy (…-traefik) has it "ping": its policy refuses
	// the lab's other paths.
	Only string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited and been waited for
	// start starts a fresh instance of the same target (a new process on
	// a new port and scratch dir); nil for direct.
	start func(ctx context.Context, instance string) (*Target, error)
}

// runs reports whether t runs scenario sc (see Only).
func (t *Target) runs(sc Scenario) bool { return t.Only == "" || t.Only == sc.Name }

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
	return startProcEnv(ctx, name, cpus, logPath, addr, nil, argv...)
}

// startProcEnv is startProc with env added to the environment.
func startProcEnv(ctx context.Context, name, cpus, logPath, addr string, env []string, argv ...string) (*Target, error) {
	shown := argv
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
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	logf.Close()
	t := &Target{Name: name, URL: "http://" + addr, Argv: shown, cmd: cmd, done: make(chan struct{})}
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

// A launch is what starting a target needs: the upstream socket, the CPUs
// to pin it to, and a scratch dir of its own.
type launch struct {
	socket, cpus, dir string
	bins              map[string]string // binaries by peer name, where not on PATH
}

// starter starts one kind of target in l.
type starter func(ctx context.Context, l launch) (*Target, error)

// sockproxySetup parses a sockproxy target name: "strategy" (Go's
// transport) or "strategy-raw" (the raw transport), either followed by
// "-traefik" for the same restricted by -policy preset:traefik. The setup
// is not validated.
func sockproxySetup(spec string) (s proxy.Setup, traefik bool) {
	s = proxy.Setup{Mode: spec, Transport: proxy.TransportStd}
	s.Mode, traefik = strings.CutSuffix(s.Mode, "-traefik")
	if m, ok := strings.CutSuffix(s.Mode, "-raw"); ok {
		s.Mode, s.Transport = m, proxy.TransportRaw
	}
	return s, traefik
}

// sockproxyStarter starts sockproxy for a target name (see sockproxySetup);
// the target is named sockproxy-<that>; a -traefik target measures the
// policy's cost, on ping only.
func sockproxyStarter(bin, spec string, maxConns int) starter {
	setup, traefik := sockproxySetup(spec)
	var policyArgs []string
	if traefik {
		policyArgs = []string{"-policy", "preset:traefik"}
	}
	return func(ctx context.Context, l launch) (*Target, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		name := "sockproxy-" + spec
		// -transport always: a name without -raw means std.
		argv := []string{bin, "-listen", addr, "-socket", l.socket, "-strategy", setup.Mode,
			"-max-conns", strconv.Itoa(maxConns), "-transport", setup.Transport}
		t, err := startProc(ctx, name, l.cpus, filepath.Join(l.dir, name+".log"), addr, append(argv, policyArgs...)...)
		if t != nil && policyArgs != nil {
			t.Only = "ping"
		}
		return t, err
	}
}

// Peers are the tools the suite compares with, by target name: each at its
// defaults (with only what streaming through it needs), and "-tuned" for
// bulk bodies as its own documentation advises. relay is the lab's own
// ceiling (cmd/relay); caddy runs when its binary is given.
var Peers = map[string]starter{
	"relay":         startRelay,
	"socat":         socatStarter(false),
	"socat-tuned":   socatStarter(true),
	"haproxy":       haproxyStarter(false),
	"haproxy-tuned": haproxyStarter(true),
	"nginx":         nginxStarter(false),
	"nginx-tuned":   nginxStarter(true),
	"caddy":         startCaddy,
}

// TunedBuffer is the buffer the tuned peers get for bulk bodies (socat -b,
// HAProxy tune.bufsize, nginx proxy_buffer_size): 256 KiB, a quarter of
// sockproxy's pooled 1 MiB.
const TunedBuffer = 256 << 10

// socatStarter: socat forking one child per connection, with a listen
// backlog raised from its default of 5 (which stalls bursts of connects);
// tuned, its transfer block raised from 8 KiB with -b (socat(1)).
func socatStarter(tuned bool) starter {
	return func(ctx context.Context, l launch) (*Target, error) {
		name := "socat"
		bin, addr, port, err := peer(name, l.bins)
		if err != nil {
			return nil, err
		}
		argv := []string{bin}
		if tuned {
			name += "-tuned"
			argv = append(argv, "-b", strconv.Itoa(TunedBuffer))
		}
		argv = append(argv, fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr,backlog=4096", port), "UNIX-CONNECT:"+l.socket)
		t, err := startProc(ctx, name, l.cpus, filepath.Join(l.dir, name+".log"), addr, argv...)
		if t != nil {
			t.MaxStreams = 3000 // a process per stream
		}
		return t, err
	}
}

// startRelay starts cmd/relay: bytes only, spliced, no HTTP.
func startRelay(ctx context.Context, l launch) (*Target, error) {
	bin, addr, _, err := peer("relay", l.bins)
	if err != nil {
		return nil, err
	}
	t, err := startProc(ctx, "relay", l.cpus, filepath.Join(l.dir, "relay.log"), addr, bin, "-listen", addr, "-socket", l.socket)
	if t != nil {
		// Each stream holds two sockets and, splicing, two pipes: six
		// descriptors, so about 3,300 fit under a hard limit of 20,000.
		t.MaxStreams = 3000
	}
	return t, err
}

const haproxyConf = `global
    maxconn 8192
%[3]sdefaults
    mode http
    option http-no-delay
%[4]s    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend fe
    bind %[1]s
    default_backend be
backend be
    http-reuse always
    server s unix@%[2]s
`

// haproxyStarter: HAProxy in http mode with option http-no-delay (without
// it HAProxy holds streamed events ~100 ms); tuned, tune.bufsize raised
// from 16 KiB and option splice-auto, as its configuration manual advises
// for large transfers.
func haproxyStarter(tuned bool) starter {
	return func(ctx context.Context, l launch) (*Target, error) {
		name := "haproxy"
		bin, addr, _, err := peer(name, l.bins)
		if err != nil {
			return nil, err
		}
		global, defaults := "", ""
		if tuned {
			name += "-tuned"
			// maxpipes bounds the splice pipes, whose descriptors HAProxy
			// would otherwise reserve beyond the machine's hard limit.
			global = fmt.Sprintf("    tune.bufsize %d\n    maxpipes 256\n", TunedBuffer)
			defaults = "    option splice-auto\n"
		}
		conf := fmt.Appendf(nil, haproxyConf, addr, l.socket, global, defaults)
		path := filepath.Join(l.dir, name+".cfg")
		if err := os.WriteFile(path, conf, 0o644); err != nil {
			return nil, err
		}
		t, err := startProc(ctx, name, l.cpus, filepath.Join(l.dir, name+".log"), addr, bin, "-db", "-f", path)
		if t != nil {
			t.ConfName, t.Conf = name+".cfg", conf
		}
		return t, err
	}
}

const nginxConf = `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 19000; }
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
            client_max_body_size 0;
%[4]s            proxy_read_timeout 1h;
        }
    }
}
`

// nginxStarter: nginx with proxy_buffering off, one worker, no master,
// request bodies unbuffered and unlimited (client_max_body_size 0: its 1 MiB
// default refuses docker load and build contexts);
// tuned, proxy_buffer_size (the buffer an unbuffered response passes
// through, 4 KiB by default) raised, as the ngx_http_proxy_module docs
// describe for proxy_buffering off.
func nginxStarter(tuned bool) starter {
	return func(ctx context.Context, l launch) (*Target, error) {
		name := "nginx"
		bin, addr, _, err := peer(name, l.bins)
		if err != nil {
			return nil, err
		}
		extra := ""
		if tuned {
			name += "-tuned"
			// proxy_buffers and proxy_busy_buffers_size must grow with it
			// (nginx refuses to start otherwise).
			k := TunedBuffer >> 10
			extra = fmt.Sprintf("            proxy_buffer_size %dk;\n            proxy_buffers 4 %dk;\n            proxy_busy_buffers_size %dk;\n", k, k, k)
		}
		conf := fmt.Appendf(nil, nginxConf, l.dir, l.socket, addr, extra)
		path := filepath.Join(l.dir, name+".conf")
		if err := os.WriteFile(path, conf, 0o644); err != nil {
			return nil, err
		}
		t, err := startProc(ctx, name, l.cpus, filepath.Join(l.dir, name+".log"), addr, bin, "-c", path, "-p", l.dir)
		if t != nil {
			t.ConfName, t.Conf = name+".conf", conf
		}
		return t, err
	}
}

const caddyfile = `{
	admin off
	auto_https off
	persist_config off
	log {
		level ERROR
	}
}
http://%[1]s {
	reverse_proxy unix/%[2]s {
		flush_interval -1
	}
}
`

// startCaddy starts Caddy's reverse_proxy at its defaults, with
// flush_interval -1 so that streams are flushed as they come (what a
// Docker socket needs); its data and config dirs are in the scratch dir.
func startCaddy(ctx context.Context, l launch) (*Target, error) {
	bin, addr, _, err := peer("caddy", l.bins)
	if err != nil {
		return nil, err
	}
	conf := fmt.Appendf(nil, caddyfile, addr, l.socket)
	path := filepath.Join(l.dir, "Caddyfile")
	if err := os.WriteFile(path, conf, 0o644); err != nil {
		return nil, err
	}
	// Caddy keeps state under $HOME/XDG dirs: give it the scratch dir.
	t, err := startProcEnv(ctx, "caddy", l.cpus, filepath.Join(l.dir, "caddy.log"), addr,
		[]string{"HOME=" + l.dir, "XDG_DATA_HOME=" + l.dir, "XDG_CONFIG_HOME=" + l.dir},
		bin, "run", "--config", path, "--adapter", "caddyfile")
	if t != nil {
		t.ConfName, t.Conf = "Caddyfile", conf
	}
	return t, err
}

// peer finds the peer's binary (in bins, else on PATH) and a loopback
// address for it to listen on; errMissing when it is not installed.
func peer(name string, bins map[string]string) (bin, addr string, port int, err error) {
	if bin = bins[name]; bin == "" {
		if bin, err = exec.LookPath(name); err != nil {
			return "", "", 0, errMissing
		}
	}
	if port, err = freePort(); err != nil {
		return "", "", 0, err
	}
	return bin, "127.0.0.1:" + strconv.Itoa(port), port, nil
}

// errMissing says a peer is not installed; the suite skips it with a line.
var errMissing = errors.New("not installed")
