package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// handler's own cost shows.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkHandler measures the handler alone, per request: the simulator
// runs inside the proxy benchmarks, so its cost must stay small.
func BenchmarkHandler(b *testing.B) {
	cases := []struct {
		name, target string
		size         int64
	}{
		{"shape=ping", "/v1.41/_ping", 0},
		{"shape=json/size=1536B", "/containers/json?size=1536B", 1536},
		{"shape=json/size=64KiB", "/containers/json?size=64KiB", 64 << 10},
		{"shape=blob/size=1MiB", "/_lab/blob?size=1MiB", 1 << 20},
		{"shape=chunked/size=1MiB", "/images/x/get?size=1MiB", 1 << 20},
	}
	h := NewHandler()
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r, _ := http.NewRequest("GET", "http://docker"+tc.target, nil)
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			b.SetBytes(tc.size)
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkServe measures a whole ping exchange over the Unix socket with
// net/http's client: a reference for the proxy's direct row.
func BenchmarkServe(b *testing.B) {
	srv := startServer(b)
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", srv.Path())
	}}}
	defer c.CloseIdleConnections()
	b.Run("shape=ping", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Get("http://docker/_ping")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
