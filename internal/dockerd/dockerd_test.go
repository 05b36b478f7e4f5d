package dockerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

func TestUnescapeMount(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/tmp/a", "/tmp/a"},
		{`/tmp/a\040b`, "/tmp/a b"},
		{`/tmp/tab\011`, "/tmp/tab\t"},
		{`/tmp/x\`, `/tmp/x\`},
		{`/tmp/x\04`, `/tmp/x\04`},
	} {
		if got := unescapeMount(tc.in); got != tc.want {
			t.Errorf("unescapeMount(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestBigContent pins the generator: the image's bytes must not change
// between Go releases or machines unnoticed.
func TestBigContent(t *testing.T) {
	h := sha256.New()
	n, err := io.Copy(h, BigContent())
	if err != nil {
		t.Fatal(err)
	}
	if n != BigSize {
		t.Fatalf("BigContent gave %d bytes; want %d", n, BigSize)
	}
	got := hex.EncodeToString(h.Sum(nil))
	const want = "d12c2ba7c133b0e3f9a753421f1a3c4f7250e4ee617de465f3c5886f49163e0e"
	if got != want {
		t.Errorf("sha256(BigContent()) = %s; want %s", got, want)
	}
}

func TestDaemonEnv(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://example:1")
	for _, kv := range daemonEnv() {
		if strings.HasPrefix(kv, "DOCKER_") {
			t.Errorf("daemonEnv() contains %q; want no DOCKER_ variables", kv)
		}
		if strings.HasPrefix(kv, "PATH=") && !strings.Contains(kv, "/usr/sbin") {
			t.Errorf("daemonEnv() has %q; want /usr/sbin on PATH", kv)
		}
	}
}

// TestStart runs the real daemon when SOCKPROXY_E2E=1 (as root, with
// docker.io and busybox-static); the e2e package is its main user.
func TestStart(t *testing.T) {
	if os.Getenv("SOCKPROXY_E2E") != "1" {
		err := Available()
		if err == nil {
			err = errors.New("SOCKPROXY_E2E is not 1")
		}
		t.Skipf("real dockerd not tried (%v); set SOCKPROXY_E2E=1 as root with docker.io and busybox-static installed", err)
	}
	if testing.Short() {
		t.Skip("-short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	dir := d.Dir()
	closed := false
	defer func() {
		if !closed {
			d.Close()
		}
	}()
	if err := d.EnsureImages(ctx); err != nil {
		t.Fatalf("EnsureImages: %v", err)
	}
	c, err := d.Client()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{BusyboxImage, BigImage} {
		if _, err := c.ImageInspect(ctx, ref); err != nil {
			t.Errorf("ImageInspect(%s): %v", ref, err)
		}
	}
	c.Close()
	closed = true
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Close, stat %s: %v; want not exist", dir, err)
	}
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil && strings.Contains(string(b), dir) {
		t.Errorf("after Close, /proc/self/mounts still lists %s", dir)
	}
}

func TestSweepStale(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mk := func(name, owner string) string {
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	// A pid above the kernel's pid_max (4194304 at most) never exists.
	stale := mk(dirPrefix+"stale", "99999999\n")
	live := mk(dirPrefix+"live", strconv.Itoa(os.Getpid())+"\n")
	starting := mk(dirPrefix+"starting", "")
	other := mk("other", "99999999\n")
	sweepStale()
	for dir, wantGone := range map[string]bool{stale: true, live: false, starting: false, other: false} {
		_, err := os.Stat(dir)
		if gone := os.IsNotExist(err); gone != wantGone {
			t.Errorf("after sweepStale, %s gone = %v; want %v", filepath.Base(dir), gone, wantGone)
		}
	}
}

// TestAttach wraps a fake engine that answers GET /_ping: Attach must start
// and stop nothing, and Close must leave the engine and its socket alone.
func TestAttach(t *testing.T) {
	sock := testsock.Path(t, "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var pings atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_ping" {
			http.NotFound(w, r)
			return
		}
		pings.Add(1)
		io.WriteString(w, "OK")
	})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := Attach(ctx, sock)
	if err != nil {
		t.Fatalf("Attach(%s): %v", sock, err)
	}
	if !d.Attached() {
		t.Errorf("Attached() = false; want true")
	}
	if d.Socket() != sock || d.Host() != "unix://"+sock {
		t.Errorf("Socket(), Host() = %q, %q; want %q, %q", d.Socket(), d.Host(), sock, "unix://"+sock)
	}
	if d.Pid() != 0 || d.Dir() != "" || d.LogTail(5) != "" {
		t.Errorf("Pid(), Dir(), LogTail(5) = %d, %q, %q; want 0, \"\", \"\"", d.Pid(), d.Dir(), d.LogTail(5))
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("after Close, stat %s: %v; want the engine's socket left alone", sock, err)
	}
	hc := d.HTTPClient()
	defer hc.CloseIdleConnections()
	if err := d.ping(ctx, hc); err != nil {
		t.Errorf("after Close, ping: %v; want the engine still answering", err)
	}
	if n := pings.Load(); n < 2 {
		t.Errorf("pings = %d; want at least 2 (Attach's and the one after Close)", n)
	}
}

func TestAttachNoEngine(t *testing.T) {
	sock := testsock.Path(t, "none.sock") // nothing listens here
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // fail at the first unanswered ping instead of after ReadyTimeout
	if d, err := Attach(ctx, sock); err == nil {
		d.Close()
		t.Fatalf("Attach(%s) with no engine: got nil error; want one", sock)
	} else if !strings.Contains(err.Error(), sock) {
		t.Errorf("Attach error %q; want it to name %s", err, sock)
	}
	if _, err := Attach(context.Background(), ""); err == nil {
		t.Errorf("Attach(\"\"): got nil error; want one")
	}
}
