package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
)

func TestHopByHopHeaders(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		got := make(chan http.Header, 1)
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Clone()
			h := w.Header()
			h.Set("Connection", "X-Resp-Hop")
			h.Set("X-Resp-Hop", "secret")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Proxy-Authenticate", "Basic")
			h.Set("X-End", "kept")
			io.WriteString(w, "ok")
		}))
		f := startFront(t, s, up, parkAtOnce)

		req, _ := http.NewRequest("GET", f.URL+"/info", nil)
		req.Header.Set("Connection", "X-Req-Hop")
		req.Header.Set("X-Req-Hop", "secret")
		req.Header.Set("Keep-Alive", "300")
		req.Header.Set("Proxy-Authorization", "Basic eA==")
		req.Header.Set("X-Forwarded-For", "10.0.0.1")
		req.Header.Set("X-End", "kept")
		res, err := f.Client().Do(req)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()

		up1 := <-got
		for _, k := range []string{"X-Req-Hop", "Keep-Alive", "Proxy-Authorization"} {
			if v, ok := up1[k]; ok {
				t.Errorf("upstream got request header %s: %q; want it removed", k, v)
			}
		}
		if v := up1.Get("X-Forwarded-For"); v != "10.0.0.1, 127.0.0.1" {
			t.Errorf("upstream got X-Forwarded-For %q; want %q", v, "10.0.0.1, 127.0.0.1")
		}
		if v := up1.Get("X-End"); v != "kept" {
			t.Errorf("upstream got X-End %q; want %q", v, "kept")
		}
		for _, k := range []string{"X-Resp-Hop", "Keep-Alive", "Proxy-Authenticate"} {
			if v, ok := res.Header[k]; ok {
				t.Errorf("client got response header %s: %q; want it removed", k, v)
			}
		}
		if v := res.Header.Get("X-End"); v != "kept" {
			t.Errorf("client got X-End %q; want %q", v, "kept")
		}
	})
}

func TestTrailers(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "abc")
			w.Header().Set(http.TrailerPrefix+"X-Late", "late")
		}))
		f := startFront(t, s, up, parkAtOnce)
		req, _ := http.NewRequest("GET", f.URL+"/t", nil)
		req.Header.Set("Te", "trailers")
		res, err := f.Client().Do(req)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || string(body) != "body" {
			t.Fatalf("body = %q, %v; want %q, nil", body, err, "body")
		}
		if got := res.Trailer.Get("X-Sum"); got != "abc" {
			t.Errorf("announced trailer X-Sum = %q; want %q", got, "abc")
		}
		if got := res.Trailer.Get("X-Late"); got != "late" {
			t.Errorf("unannounced trailer X-Late = %q; want %q", got, "late")
		}
	})
}

func TestInformationalResponses(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			io.WriteString(w, "final")
		}))
		f := startFront(t, s, up, parkAtOnce)

		var got []string
		trace := &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				got = append(got, fmt.Sprintf("%d %s", code, h.Get("Link")))
				return nil
			},
		}
		req, _ := http.NewRequest("GET", f.URL+"/hints", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		res, err := f.Client().Do(req)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := "103 </a.css>; rel=preload"; len(got) != 1 || got[0] != want {
			t.Errorf("1xx responses = %q; want [%q]", got, want)
		}
		if res.StatusCode != 200 || string(body) != "final" {
			t.Errorf("final response = %d %q; want 200 %q", res.StatusCode, body, "final")
		}
	})
}

// TestNoBodyResponses sends HEAD, a 204 and a 304 on one client
// connection, then a normal GET: a stray body byte after any of them would
// break the next response's parse.
func TestNoBodyResponses(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/_ping":
				w.Header().Set("Content-Length", "2")
				io.WriteString(w, "OK")
			case "/204":
				w.WriteHeader(http.StatusNoContent)
			case "/304":
				w.Header().Set("Etag", `"x"`)
				w.WriteHeader(http.StatusNotModified)
			}
		}))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		br := bufio.NewReader(c)

		steps := []struct {
			method, path string
			code         int
			length       int64
			body         string
		}{
			{"HEAD", "/_ping", 200, 2, ""},
			{"GET", "/204", 204, 0, ""},
			{"GET", "/304", 304, 0, ""},
			{"GET", "/_ping", 200, 2, "OK"},
		}
		for _, s := range steps {
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: docker\r\n\r\n", s.method, s.path)
			res, err := http.ReadResponse(br, &http.Request{Method: s.method})
			if err != nil {
				t.Fatalf("%s %s: reading response: %v", s.method, s.path, err)
			}
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatalf("%s %s: reading body: %v", s.method, s.path, err)
			}
			if res.StatusCode != s.code || string(body) != s.body {
				t.Errorf("%s %s = %d %q; want %d %q", s.method, s.path, res.StatusCode, body, s.code, s.body)
			}
			if s.length > 0 && res.ContentLength != s.length {
				t.Errorf("%s %s: Content-Length %d; want %d", s.method, s.path, res.ContentLength, s.length)
			}
			if te := strings.Join(res.TransferEncoding, ","); te != "" {
				t.Errorf("%s %s: Transfer-Encoding %q; want none", s.method, s.path, te)
			}
		}
		if n := br.Buffered(); n != 0 {
			t.Errorf("%d stray bytes after the last response; want 0", n)
		}
	})
}
