package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/proxy"
)

// discardWriter is a reusable ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// roundTripFunc is a Transport answering every request in memory.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkProxyCPU is the proxy's own CPU per request with no sockets
// (a Transport answering a 2-byte /_ping from memory, a ResponseWriter
// that discards; the pooled copy, as the default mode copies small bodies), with metrics off and on: the difference is what the
// Observer path (classification, the counting writer, Observe) costs a
// request, free of the noise of sockets and a shared machine.
func BenchmarkProxyCPU(b *testing.B) {
	hdr := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Api-Version": {"1.41"}, "Server": {"Docker/20.10.24 (linux)"}}
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: hdr.Clone(), ContentLength: 2, Body: io.NopCloser(strings.NewReader("OK")), Request: r}, nil
	})
	for _, met := range []string{"off", "on"} {
		b.Run("metrics="+met, func(b *testing.B) {
			p := &proxy.ReverseProxy{Transport: rt, Strategy: bodycopy.Pooled}
			if met == "on" {
				p.Observer = New(Options{NoRuntime: true})
			}
			req := httptest.NewRequest("GET", "/v1.41/_ping", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				p.ServeHTTP(w, req)
			}
		})
	}
}
