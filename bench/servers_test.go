package bench

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/metrics"
	"github.com/sockproxylab/sockproxy/internal/upstream"
	"github.com/sockproxylab/sockproxy/policy"
	"github.com/sockproxylab/sockproxy/proxy"
)

// maxConc is the largest concurrency the benchmarks use; every transport
// keeps that many idle connections.
const maxConc = 64

// A target is where the benchmark client sends requests: the upstream
// socket itself (`direct`) or a proxy in front of it.
type target struct {
	client  *http.Client
	baseURL string
	dial    func() (net.Conn, error) // a fresh connection, for upgrades
}

var (
	mu      sync.Mutex
	sim     *upstream.Server
	simDir  string
	targets = map[string]*target{}
	servers []server
)

// server is a front end to shut down at the end: an *http.Server, or a
// *proxy.Proxy of mode lean serving itself.
type server interface {
	Shutdown(context.Context) error
	Close() error
}

func TestMain(m *testing.M) {
	code := m.Run()
	shutdown()
	os.Exit(code)
}

// simulator returns the shared upstream simulator, starting it on first use.
func simulator(b *testing.B) *upstream.Server {
	b.Helper()
	mu.Lock()
	defer mu.Unlock()
	if sim != nil {
		return sim
	}
	dir, err := os.MkdirTemp("", "spb-")
	if err != nil {
		b.Fatal(err)
	}
	s, err := upstream.Start(dir + "/up.sock")
	if err != nil {
		os.RemoveAll(dir)
		b.Fatalf("starting the simulator: %v", err)
	}
	sim, simDir = s, dir
	return sim
}

// observer is the proxy's Observer for the metrics key: nil for "", the
// Prometheus metrics -metrics serves (without the runtime collectors,
// which cost only at scrape time) for "on".
func observer(met string) proxy.Observer {
	if met == "" {
		return nil
	}
	return metrics.New(metrics.Options{Version: "bench"})
}

// targetFor returns the target for row r, starting its proxy on first
// use.
func targetFor(b *testing.B, r row, preset, met string) *target {
	b.Helper()
	up := simulator(b)
	mu.Lock()
	defer mu.Unlock()
	strategy := r.strategy()
	key := strategy + "/" + r.transport() + "/" + preset + "/" + met
	var pol *policy.Policy
	if preset != "" {
		var err error
		if pol, err = policy.Preset(preset); err != nil {
			b.Fatal(err)
		}
	}
	if t, ok := targets[key]; ok {
		return t
	}
	var t *target
	if r.direct {
		path := up.Path()
		dial := func() (net.Conn, error) { return net.Dial("unix", path) }
		t = &target{client: newClient(dial), baseURL: "http://docker", dial: dial}
	} else {
		h, err := proxy.New(proxy.Config{
			Mode:      r.setup.Mode,
			Transport: r.setup.Transport,
			Socket:    up.Path(),
			MaxConns:  maxConc,
			ErrorLog:  log.New(os.Stderr, "proxy "+strategy+": ", 0),
			Policy:    pol,
			Observer:  observer(met),
		})
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		if r.setup.Mode == proxy.ModeLean {
			go h.Serve(ln)
			servers = append(servers, h)
		} else {
			srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
			go srv.Serve(ln)
			servers = append(servers, srv)
		}
		addr := ln.Addr().String()
		dial := func() (net.Conn, error) { return net.Dial("tcp", addr) }
		t = &target{client: newClient(dial), baseURL: "http://" + addr, dial: dial}
	}
	targets[key] = t
	return t
}

// newClient returns a keep-alive client that keeps maxConc idle connections.
func newClient(dial func() (net.Conn, error)) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         func(context.Context, string, string) (net.Conn, error) { return dial() },
		MaxIdleConns:        maxConc,
		MaxIdleConnsPerHost: maxConc,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

func shutdown() {
	mu.Lock()
	defer mu.Unlock()
	for _, t := range targets {
		t.client.CloseIdleConnections()
	}
	for _, s := range servers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(os.Stderr, "bench: proxy shutdown:", err)
		}
		cancel()
		s.Close()
	}
	if sim != nil {
		sim.Close()
		os.RemoveAll(simDir)
	}
}
