package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/proxy"
)

func TestMain(m *testing.M) {
	// TestSignal re-runs this test binary as the command itself.
	if os.Getenv("SOCKPROXY_TEST_RUN_MAIN") == "1" {
		main()
	}
	goleak.VerifyTestMain(m)
}

// testDeadline bounds every wait; tests wait on conditions, never sleep.
const testDeadline = 20 * time.Second

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitUntil polls cond until it holds or the test deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

func TestBadFlags(t *testing.T) {
	sock := "/nonexistent/up.sock"
	for _, args := range [][]string{
		{},
		{"-listen", "127.0.0.1:0"},
		{"-socket", sock},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-bogus"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "bogus"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "alloc", "-profile", "bogus"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "alloc", "-max-conns", "-1"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "alloc", "-grace", "soon"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "alloc", "-park-idle", "soon"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "alloc", "extra"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "alloc", "-transport", "bogus"},
		{"-listen", "127.0.0.1:0", "-socket", sock, "-strategy", "stdlib-default", "-transport", "raw"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		if code != 2 {
			t.Errorf("sockproxy %q: exit %d; want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "usage: sockproxy") {
			t.Errorf("sockproxy %q: stderr %q; want the usage", args, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("sockproxy %q: stdout %q; want nothing", args, stdout.String())
		}
	}
}

func TestStrategyList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-strategy", "list"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; want 0 (stderr %q)", code, stderr.String())
	}
	want := strings.Join(proxy.Modes(), "\n") + "\n"
	if stdout.String() != want {
		t.Errorf("stdout %q; want %q", stdout.String(), want)
	}
	if !strings.HasPrefix(want, "stdlib\nstdlib-default\n") {
		t.Errorf("modes %q; want stdlib, stdlib-default first", want)
	}
}

// instance is a running sockproxy.
type instance struct {
	addr   string
	stderr *syncBuffer
	stop   context.CancelFunc // as SIGTERM
	exit   chan int
}

// start runs sockproxy with args plus -listen 127.0.0.1:0 until the test
// ends.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	return startArgs(t, append([]string{"-listen", "127.0.0.1:0"}, args...)...)
}

// waitExit waits for sockproxy's exit status.
func (in *instance) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-in.exit:
		in.exit <- code // for Cleanup
		return code
	case <-time.After(testDeadline):
		t.Fatal("sockproxy did not exit")
		return -1
	}
}

// serveUnix serves h on path until the test ends.
func serveUnix(t *testing.T, path string, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: testDeadline}
}

// TestMissingSocket starts with no upstream: one warning naming the path,
// 502 naming it while missing, 200 once it serves, with no restart.
func TestMissingSocket(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s proxy.Setup) {
		{
			sock := testsock.Path(t, "up.sock")
			in := start(t, "-socket", sock, "-strategy", s.Mode, "-transport", s.Transport)
			c := newClient(t)
			if n := strings.Count(in.stderr.String(), "warning: upstream socket "+sock); n != 1 {
				t.Errorf("stderr has %d warnings naming %s; want 1:\n%s", n, sock, in.stderr.String())
			}
			for range 2 {
				if code, body := get(t, c, "http://"+in.addr+"/_ping"); code != 502 || !strings.Contains(body, sock) {
					t.Errorf("missing socket: got %d %q; want 502 naming %s", code, body, sock)
				}
			}
			serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") }))
			if code, body := get(t, c, "http://"+in.addr+"/_ping"); code != 200 || body != "OK" {
				t.Errorf("socket back: got %d %q; want 200 %q", code, body, "OK")
			}
			in.stop()
			if code := in.waitExit(t); code != 0 {
				t.Errorf("exit %d; want 0", code)
			}
		}
	})
}

// forEachSetup runs f as subtest mode=NAME/transport=T (Setup.String) for
// every setup in proxy.Setups().
func forEachSetup(t *testing.T, f func(t *testing.T, s proxy.Setup)) {
	t.Helper()
	for _, s := range proxy.Setups() {
		t.Run(s.String(), func(t *testing.T) { f(t, s) })
	}
}

// send dials in and sends a request with no body (the extra header lines
// end in CRLF), and returns the connection, its reader and the response
// head. The connection has the test deadline and closes when the test
// ends.
func (in *instance) send(t *testing.T, method, path, extra string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", in.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testDeadline))
	br := bufio.NewReader(c)
	io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: docker\r\n"+extra+"\r\n")
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return c, br, res
}

// TestShutdownFinishesInFlight stops sockproxy, in every mode over every
// transport, while a request waits for its body: the request completes,
// then sockproxy exits 0.
func TestShutdownFinishesInFlight(t *testing.T) {
	forEachSetup(t, testShutdownFinishesInFlight)
}

func testShutdownFinishesInFlight(t *testing.T, s proxy.Setup) {
	sock := testsock.Path(t, "up.sock")
	release := make(chan struct{})
	serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		http.NewResponseController(w).Flush()
		select {
		case <-release:
			io.WriteString(w, `{"StatusCode":0}`)
		case <-r.Context().Done():
		}
	}))
	in := start(t, "-socket", sock, "-strategy", s.Mode, "-transport", s.Transport, "-grace", testDeadline.String())
	c := newClient(t)
	res, err := c.Post("http://"+in.addr+"/containers/c1/wait", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	in.stop()
	waitUntil(t, "shutdown to start", func() bool { return strings.Contains(in.stderr.String(), "shutting down") })
	close(release)
	body, err := io.ReadAll(res.Body)
	if err != nil || string(body) != `{"StatusCode":0}` {
		t.Errorf("in-flight body %q, %v; want the exit status", body, err)
	}
	if code := in.waitExit(t); code != 0 {
		t.Errorf("exit %d; want 0", code)
	}
}

// TestShutdownClosesUpgradedStream stops sockproxy, in every mode over
// every transport, with an attach stream open (hijacked, idle in both
// directions): the stream is closed on both sides once the grace is over,
// sockproxy exits 0, and no goroutine of the subtest outlives it.
func TestShutdownClosesUpgradedStream(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s proxy.Setup) {
		{
			// Registered first, so it runs last: after sockproxy and the
			// upstream have stopped. goleak retries until its own deadline.
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
			sock := testsock.Path(t, "up.sock")
			upDone := make(chan error, 1)
			serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					upDone <- err
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(testDeadline))
				io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
				_, err = io.Copy(conn, brw) // echo until the proxy closes
				upDone <- err
			}))
			in := start(t, "-socket", sock, "-strategy", s.Mode, "-transport", s.Transport, "-grace", "50ms")
			c, br, res := in.send(t, "POST", "/containers/c1/attach", "Connection: Upgrade\r\nUpgrade: tcp\r\n")
			if res.StatusCode != 101 {
				t.Fatalf("attach: %s; want 101", res.Status)
			}
			io.WriteString(c, "ping\n")
			if line, err := br.ReadString('\n'); line != "ping\n" {
				t.Fatalf("echo %q, %v; want %q", line, err, "ping\n")
			}
			in.stop()
			if rest, err := io.ReadAll(br); len(rest) != 0 {
				t.Errorf("after shutdown client read %q, %v; want the stream closed", rest, err)
			}
			if code := in.waitExit(t); code != 0 {
				t.Errorf("exit %d; want 0", code)
			}
			select {
			case <-upDone:
			case <-time.After(testDeadline):
				t.Error("upstream stream was not closed")
			}
			want := "closed 1 hijacked stream"
			if s.Mode == proxy.ModeLean {
				want = "closed 1 busy connection" // the lean front end's own
			}
			if !strings.Contains(in.stderr.String(), want) {
				t.Errorf("stderr does not report the closed stream:\n%s", in.stderr.String())
			}
		}
	})
}

// TestShutdownClosesIdleStream stops sockproxy, in every mode over every
// transport, with an idle /events stream open (parked over the raw
// transport, in its handler otherwise): once the grace is over the stream
// is closed on both sides, sockproxy exits 0, and no goroutine of the
// subtest outlives it.
func TestShutdownClosesIdleStream(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s proxy.Setup) {
		ignore := goleak.IgnoreCurrent()
		t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
		sock := testsock.Path(t, "up.sock")
		upDone := make(chan struct{}, 1)
		serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
			<-r.Context().Done() // the proxy closed the upstream connection
			upDone <- struct{}{}
		}))
		in := start(t, "-socket", sock, "-strategy", s.Mode, "-transport", s.Transport, "-grace", "50ms")
		_, _, res := in.send(t, "GET", "/events", "")
		if res.StatusCode != 200 {
			t.Fatalf("events: %s; want 200", res.Status)
		}
		in.stop()
		if _, err := io.ReadAll(res.Body); err == nil {
			t.Error("the idle stream ended cleanly at shutdown; want it cut")
		}
		if code := in.waitExit(t); code != 0 {
			t.Errorf("exit %d; want 0", code)
		}
		select {
		case <-upDone:
		case <-time.After(testDeadline):
			t.Error("the upstream stream was not closed")
		}
	})
}

// TestMaxConns caps client connections at 1: a second connection gets 503
// while the first is open, and is served once it has closed.
func TestMaxConns(t *testing.T) {
	sock := testsock.Path(t, "up.sock")
	serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") }))
	in := start(t, "-socket", sock, "-strategy", "alloc", "-max-conns", "1")

	ping := func(c net.Conn) (*http.Response, string, error) {
		c.SetDeadline(time.Now().Add(testDeadline))
		io.WriteString(c, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return nil, "", err
		}
		body, err := io.ReadAll(res.Body)
		return res, string(body), err
	}
	first, err := net.Dial("tcp", in.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if res, body, err := ping(first); err != nil || res.StatusCode != 200 || body != "OK" {
		t.Fatalf("first connection: %v %q, %v; want 200 OK", res, body, err)
	}
	second, err := net.Dial("tcp", in.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	res, body, err := ping(second)
	if err != nil || res.StatusCode != 503 || !res.Close || !strings.Contains(body, "max-conns 1") {
		t.Fatalf("second connection: %v %q, %v; want 503 with Connection: close naming the cap", res, body, err)
	}
	first.Close()
	c := newClient(t)
	waitUntil(t, "a connection to be served after the first closed", func() bool {
		res, err := c.Get("http://" + in.addr + "/_ping")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode == 200
	})
}

// TestProfile writes a CPU profile into -profile-dir at exit.
func TestProfile(t *testing.T) {
	dir := t.TempDir()
	sock := testsock.Path(t, "up.sock")
	in := start(t, "-socket", sock, "-strategy", "alloc", "-profile", "cpu", "-profile-dir", dir)
	in.stop()
	if code := in.waitExit(t); code != 0 {
		t.Fatalf("exit %d; want 0", code)
	}
	if fi, err := os.Stat(filepath.Join(dir, "cpu.pprof")); err != nil || fi.Size() == 0 {
		t.Errorf("cpu.pprof: %v, %v; want a non-empty file", fi, err)
	}
}

// TestSignal runs the real command (this test binary re-executed as main)
// and sends it SIGTERM: it stops and exits 0.
func TestSignal(t *testing.T) {
	sock := testsock.Path(t, "up.sock")
	front := testsock.Path(t, "front.sock")
	cmd := exec.Command(os.Args[0], "-listen", "unix:"+front, "-socket", sock, "-strategy", "alloc")
	cmd.Env = append(os.Environ(), "SOCKPROXY_TEST_RUN_MAIN=1")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	}()
	waitUntil(t, "sockproxy to listen", func() bool { return strings.Contains(stderr.String(), "listening on") })
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", front)
	}}}
	defer c.CloseIdleConnections()
	if code, body := get(t, c, "http://sockproxy/_ping"); code != 502 || !strings.Contains(body, sock) {
		t.Errorf("got %d %q; want 502 naming %s", code, body, sock)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("after SIGTERM: %v; want exit 0\n%s", err, stderr.String())
		}
	case <-time.After(testDeadline):
		t.Fatalf("sockproxy did not exit after SIGTERM:\n%s", stderr.String())
	}
	if _, err := os.Stat(front); !os.IsNotExist(err) {
		t.Errorf("listening socket %s left behind: %v", front, err)
	}
}

// TestParkIdleFlag checks what -park-idle passes to proxy.Config.ParkIdle:
// the default by default and for 0, a negative time for never.
func TestParkIdleFlag(t *testing.T) {
	for _, c := range []struct {
		args  []string
		want  time.Duration
		never bool
	}{
		{args: nil, want: proxy.DefaultParkIdle},
		{args: []string{"-park-idle", "0"}, want: 0},
		{args: []string{"-park-idle", "5ms"}, want: 5 * time.Millisecond},
		{args: []string{"-park-idle", "never"}, never: true},
		{args: []string{"-park-idle", "-1s"}, never: true},
	} {
		args := append([]string{"-listen", "127.0.0.1:0", "-socket", "/nonexistent/up.sock"}, c.args...)
		o, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Errorf("sockproxy %q: %v", c.args, err)
			continue
		}
		got := time.Duration(o.parkIdle)
		if c.never && got >= 0 || !c.never && got != c.want {
			t.Errorf("sockproxy %q: ParkIdle %s; want %s (never: %v)", c.args, got, c.want, c.never)
		}
	}
}
