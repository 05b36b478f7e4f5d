package proxy

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// TestUpstreamConnectionReuse runs 16 clients at once through the proxy and
// counts the upstream connections it opens. A transport that keeps as many
// idle connections as it has clients opens about one per client; Go's
// default transport keeps 2 and redials for most requests.
func TestUpstreamConnectionReuse(t *testing.T) {
	const (
		clients  = 16
		requests = 25 // per client
	)
	forEachSetup(t, func(t *testing.T, s Setup) {
		var dials atomic.Int64
		path := testsock.Path(t, "up.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") }),
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					dials.Add(1)
				}
			},
			ErrorLog: log.New(io.Discard, "", 0),
		}
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.Serve(ln)
		}()
		t.Cleanup(func() {
			srv.Close()
			<-served
		})
		f := startFront(t, s, path, parkAtOnce)

		tr := &http.Transport{MaxIdleConnsPerHost: clients}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for range clients {
			wg.Go(func() {
				for range requests {
					res, err := c.Get(f.URL + "/_ping")
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("GET: %v", err)
		}
		n := dials.Load()
		t.Logf("mode %s: %d upstream connections for %d requests from %d clients", s.Mode, n, clients*requests, clients)
		if n > 2*clients {
			err = fmt.Errorf("%d upstream connections for %d requests from %d clients; want at most %d",
				n, clients*requests, clients, 2*clients)
		}
		expect(t, s.Mode, "pool/reuse", err)
	})
}
