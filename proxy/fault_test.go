package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// TestUpstreamDiesMidBody has the upstream close its connection part way
// through a body. The client must see a failed read, never a clean end: a
// truncated docker save must not look complete.
func TestUpstreamDiesMidBody(t *testing.T) {
	cases := []struct{ name, head, part string }{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n", strings.Repeat("x", 65536)},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "10000\r\n" + strings.Repeat("x", 65536) + "\r\n"},
	}
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, tc := range cases {
			t.Run("framing="+tc.name, func(t *testing.T) {
				up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					conn, _, err := http.NewResponseController(w).Hijack()
					if err != nil {
						return
					}
					io.WriteString(conn, tc.head+tc.part)
					conn.Close()
				}))
				f := startFront(t, s, up, parkAtOnce)
				ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", f.URL+"/images/x/get", nil)
				res, err := f.Client().Do(req)
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				n, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err == nil {
					t.Errorf("client read %d bytes and a clean end; want a failed read", n)
				}
				if ctx.Err() != nil {
					t.Errorf("client read ended by the test deadline, not by the proxy's abort")
				}
			})
		}
	})
}

// TestClientLeaves checks that a client that goes away closes the
// upstream request promptly, whether it leaves while waiting for the
// header or in the middle of a stream.
func TestClientLeaves(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, when := range []string{"before-header", "mid-body"} {
			t.Run("when="+when, func(t *testing.T) {
				started := make(chan struct{})
				gone := make(chan struct{})
				up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if when == "mid-body" {
						io.WriteString(w, "first\n")
						http.NewResponseController(w).Flush()
					}
					close(started)
					<-r.Context().Done()
					close(gone)
				}))
				f := startFront(t, s, up, parkAtOnce)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", f.URL+"/events", nil)
				errc := make(chan error, 1)
				go func() {
					res, err := f.Client().Do(req)
					if err == nil {
						_, err = bufio.NewReader(res.Body).ReadString('\n')
						res.Body.Close() // mid-stream: closes the connection
					}
					errc <- err
				}()
				if _, err := testsock.WaitFor(started, "the upstream to get the request"); err != nil {
					t.Fatal(err)
				}
				if when == "before-header" {
					cancel()
				}
				if err, _ := testsock.WaitFor(errc, "the client"); when == "mid-body" && err != nil {
					t.Fatalf("client: %v", err)
				}
				if _, err := testsock.WaitFor(gone, "the upstream request to end"); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// TestSocketUnavailable checks a missing socket and one nobody listens on
// give 502 naming the path, and that the proxy recovers by itself once
// the socket serves.
func TestSocketUnavailable(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, state := range []string{"missing", "refused"} {
			t.Run("socket="+state, func(t *testing.T) {
				path := testsock.Path(t, "gone.sock")
				if state == "refused" {
					ln, err := net.Listen("unix", path)
					if err != nil {
						t.Fatal(err)
					}
					ln.(*net.UnixListener).SetUnlinkOnClose(false)
					ln.Close()
				}
				f := startFront(t, s, path, parkAtOnce)
				res, err := f.Client().Get(f.URL + "/_ping")
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), path) {
					t.Errorf("got %d %q; want 502 naming %s", res.StatusCode, body, path)
				}
				if !strings.Contains(f.log.String(), path) {
					t.Errorf("proxy log %q does not name %s", f.log.String(), path)
				}

				if state == "refused" {
					if err := os.Remove(path); err != nil {
						t.Fatal(err)
					}
				}
				serveUnix(t, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "OK")
				}))
				res, err = f.Client().Get(f.URL + "/_ping")
				if err != nil {
					t.Fatalf("GET after the socket appeared: %v", err)
				}
				body, _ = io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || string(body) != "OK" {
					t.Errorf("after the socket appeared: got %d %q; want 200 %q", res.StatusCode, body, "OK")
				}
			})
		}
	})
}
