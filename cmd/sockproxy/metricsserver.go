package main

import (
	"context"
	"log"
	"net"
	"net/http"
	"time"
)

// metricsServer serves /metrics on a listener of its own, apart from the
// proxy's: a scraper never needs the Docker API, and a client of the proxy
// never sees the metrics.
type metricsServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// startMetrics serves h at /metrics on addr (host:port or unix:/path).
func startMetrics(addr string, h http.Handler, errorLog *log.Logger) (*metricsServer, error) {
	ln, err := listen(addr, 0, "")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	s := &metricsServer{
		ln:   ln,
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *metricsServer) addr() net.Addr { return s.ln.Addr() }

// close stops the server, letting a scrape in progress finish briefly.
func (s *metricsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
	<-s.done
}
