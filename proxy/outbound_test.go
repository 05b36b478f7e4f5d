package proxy

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestIsStreamAsParseMediaType checks that skipping ParseMediaType for
// content types that cannot be an event stream changes no answer.
func TestIsStreamAsParseMediaType(t *testing.T) {
	for _, ct := range []string{
		"", "text/event-stream", "TEXT/Event-Stream", "text/event-stream; charset=utf-8",
		"  text/event-stream ", "\ttext/event-stream;x", "text/event-streams", "text/event-strea",
		"text/event-stream;;", "text/event-stream; a=\"", "application/json", "text/plain; charset=utf-8",
		"text/event-stream/x", "text/event-stream\x00",
	} {
		old, _, _ := mime.ParseMediaType(ct)
		res := &http.Response{ContentLength: 10, Header: http.Header{"Content-Type": {ct}}}
		if got, want := isStream(res), old == "text/event-stream"; got != want {
			t.Errorf("isStream(Content-Type %q) = %v; want %v", ct, got, want)
		}
	}
}

// TestCopyHeaderNoAliasing checks that appending to a copied header leaves
// the source alone, and that values for a key already present are added.
func TestCopyHeaderNoAliasing(t *testing.T) {
	vals := []string{"a", "b", "spare"}
	src := http.Header{"X-A": vals[:2], "x-lower": {"l"}, "X-Empty": {}}
	dst := http.Header{"X-Old": {"o"}}
	copyHeader(dst, src)
	dst["X-A"] = append(dst["X-A"], "c")
	if vals[2] != "spare" {
		t.Errorf("append to the copy overwrote the source's storage: %q", vals)
	}
	copyHeader(dst, http.Header{"X-Old": {"p"}})
	want := http.Header{"X-A": {"a", "b", "c"}, "X-Lower": {"l"}, "X-Old": {"o", "p"}}
	if fmt.Sprint(dst) != fmt.Sprint(want) {
		t.Errorf("dst = %v; want %v", dst, want)
	}
}

// TestOutboundIsolation checks that the outbound request (pooled for the
// raw transport's bodyless requests) is the inbound one's copy: a Director
// changing it leaves the inbound request alone, and no request sees
// another's headers, sequentially or concurrently.
func TestOutboundIsolation(t *testing.T) {
	for _, tr := range Transports() {
		t.Run("transport="+tr, func(t *testing.T) {
			up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s %q %q %q", r.URL.Path, r.Header["X-N"], r.Header["X-Forwarded-For"], r.Header["User-Agent"])
			}))
			var transport idleCloser = NewTransport(up, 4)
			if tr == TransportRaw {
				transport = NewRawTransport(up, 4)
			}
			defer transport.CloseIdleConnections()
			p := &ReverseProxy{
				Transport: transport,
				Director: func(r *http.Request) {
					defaultDirector(r)
					r.URL.Path += "/out"
					r.Header["X-N"] = append(r.Header["X-N"], "director")
				},
			}
			check := func(n int) error {
				req := httptest.NewRequest("GET", "/n/"+strconv.Itoa(n), nil)
				req.Header["X-N"] = []string{strconv.Itoa(n)}
				if n%2 == 0 {
					req.Header["User-Agent"] = []string{"ua" + strconv.Itoa(n)}
				}
				rec := httptest.NewRecorder()
				p.ServeHTTP(rec, req)
				ua := ""
				if n%2 == 0 {
					ua = "ua" + strconv.Itoa(n)
				}
				want := fmt.Sprintf("/n/%d/out [\"%d\" \"director\"] [\"192.0.2.1\"] %q", n, n, []string{ua})
				if ua == "" {
					want = fmt.Sprintf("/n/%d/out [\"%d\" \"director\"] [\"192.0.2.1\"] []", n, n)
				}
				if got := rec.Body.String(); rec.Code != 200 || got != want {
					return fmt.Errorf("request %d: got %d %s; want 200 %s", n, rec.Code, got, want)
				}
				if got := req.URL.Path; got != "/n/"+strconv.Itoa(n) {
					return fmt.Errorf("request %d: inbound path became %q", n, got)
				}
				if got := req.Header["X-N"]; len(got) != 1 || got[0] != strconv.Itoa(n) {
					return fmt.Errorf("request %d: inbound X-N became %q", n, got)
				}
				return nil
			}
			for n := range 20 {
				if err := check(n); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := range 8 {
				wg.Go(func() {
					for i := range 8 {
						if err := check(100 + 8*g + i); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestOutboundManyHeaders checks a request with more header values than
// the outbound's own storage holds.
func TestOutboundManyHeaders(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var keys []string
		for i := range 40 {
			keys = append(keys, r.Header.Get("X-K"+strconv.Itoa(i)))
		}
		io.WriteString(w, strings.Join(keys, ","))
	}))
	transport := NewRawTransport(up, 4)
	defer transport.CloseIdleConnections()
	p := &ReverseProxy{Transport: transport}
	var want []string
	req := httptest.NewRequest("GET", "/", nil)
	for i := range 40 {
		req.Header.Set("X-K"+strconv.Itoa(i), "v"+strconv.Itoa(i))
		want = append(want, "v"+strconv.Itoa(i))
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if got := rec.Body.String(); got != strings.Join(want, ",") {
		t.Errorf("upstream saw %q; want %q", got, strings.Join(want, ","))
	}
}
