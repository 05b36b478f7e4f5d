package proxy

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// This file holds the adversarial cases of issue 17: a client and an
// upstream that each do what HTTP allows but a proxy easily gets wrong
// (an answer before the request body is read, Connection: close on every
// kind of response, bytes an idle upstream connection was never asked
// for, a 101 nobody asked for, HTTP/1.0 clients, repeated
// Content-Length). Each runs for every mode and transport.

// chunkedBody frames data as chunks of piece bytes, with the last chunk.
func chunkedBody(data []byte, piece int) string {
	var b strings.Builder
	for len(data) > 0 {
		n := min(piece, len(data))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, data[:n])
		data = data[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// TestRequestBodyEarlyAnswer sends a request body to an upstream that
// answers before, while and after it reads the body. The body must reach
// the upstream whole (net/http's server discards what the handler has not
// read when it writes the response header, unless the handler asks for
// full duplex), and an early refusal must reach a client that has paused
// its upload without waiting for more of it.
func TestRequestBodyEarlyAnswer(t *testing.T) {
	// More than the sockets between client, proxy and upstream hold, so
	// that most of it is still to come when the upstream answers.
	body := make([]byte, 4<<20)
	newGen(int64(len(body))).Read(body)
	want := fmt.Sprintf("%x", sha256.Sum256(body))

	// answerWhile answers with the header after the first KiB, and with
	// the body's hash once it has read all of it.
	answerWhile := func(before bool) func(n int64, c net.Conn, br *bufio.Reader) {
		return func(n int64, c net.Conn, br *bufio.Reader) {
			c.SetDeadline(time.Now().Add(testDeadline))
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			h := sha256.New()
			if !before {
				io.CopyN(h, req.Body, 1<<10)
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
			io.Copy(h, req.Body)
			sum := fmt.Sprintf("%x", h.Sum(nil))
			fmt.Fprintf(c, "%x\r\n%s\r\n0\r\n\r\n", len(sum), sum)
		}
	}
	request := "POST /build HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedBody(body, 32<<10)

	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, tc := range []struct {
			name  string
			serve func(n int64, c net.Conn, br *bufio.Reader)
		}{
			{"answer-before-reading", answerWhile(true)},
			{"answer-while-reading", answerWhile(false)},
			{"answer-after-reading", func(n int64, c net.Conn, br *bufio.Reader) {
				_, got, err := readRequest(br)
				if err == nil {
					sum := fmt.Sprintf("%x", sha256.Sum256(got))
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(sum), sum)
				}
			}},
		} {
			up := startScripted(t, tc.serve)
			f := startFront(t, s, up.path, parkAtOnce)
			c := f.dial(t)
			go io.WriteString(c, request) // the proxy reads it as the upstream asks
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(res.Body)
				if err == nil && (res.StatusCode != 200 || string(got) != want) {
					err = fmt.Errorf("got %d with the upstream's hash %q; want 200 and %q (the whole body)", res.StatusCode, got, want)
				}
			}
			expect(t, s.Mode, "request-body/"+tc.name, err)
		}

		// The upstream refuses at once; the client has sent 10 KiB of a
		// 1 MiB body and waits for an answer before sending more. The
		// upstream then reads on until the proxy closes: one that closed
		// at once would race the transport's write of the body against
		// its read of the answer, which Go's transport may lose (a write
		// error instead of the 413; the raw transport reads the answer).
		up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
			if _, err := http.ReadRequest(br); err == nil {
				io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n")
			}
			io.Copy(io.Discard, br)
		})
		f := startFront(t, s, up.path, parkAtOnce)
		c := f.dial(t)
		fmt.Fprintf(c, "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: %d\r\n\r\n%s", 1<<20, body[:10<<10])
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil && res.StatusCode != http.StatusRequestEntityTooLarge {
			err = fmt.Errorf("got %s; want 413", res.Status)
		}
		expect(t, s.Mode, "request-body/early-refusal", err)
	})
}

// responseKinds are the kinds of response the connection-handling tests
// run through, as simulator paths: each is answered with a body.
var responseKinds = []struct{ name, path string }{
	{"content-length", "/_lab/blob?size=1KiB"},
	{"chunked", "/images/x/get?size=64KiB"},
	{"stream", "/events?count=2&every=1ms"},
	{"parked-stream", "/events?count=2&every=50ms"}, // idle long enough to park
}

// TestConnectionCloseEveryKind pipelines a /_ping behind a request on
// every kind of response. With Connection: close the proxy must answer
// the first request and close, never serving the ping, nor one sent
// after the answer (a parked stream's connection must not go back to the
// server). Without it, the
// ping is answered on the same connection, or the connection closes
// cleanly right after the whole first answer, which HTTP/1.1 allows (a
// client resends a pipelined request the server did not answer; RFC 9112
// section 9.3.2): the proxy does so after a stream it parked with the
// ping already buffered by net/http, and after a close-delimited image
// save (see splice.go).
func TestConnectionCloseEveryKind(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		sim := startSim(t, shortSock(t))
		f := startFront(t, s, sim.Path(), parkAtOnce)
		for _, kind := range responseKinds {
			for _, v := range []struct {
				name               string
				closing, pipelined bool
			}{
				{"close/pipelined", true, true},
				{"close/ping-after-answer", true, false},
				{"keep-alive/pipelined", false, true},
			} {
				c := f.dial(t)
				var req strings.Builder
				fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: d\r\n", kind.path)
				if v.closing {
					req.WriteString("Connection: close\r\n")
				}
				req.WriteString("\r\n")
				if v.pipelined {
					req.WriteString("GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
				}
				io.WriteString(c, req.String())
				br := bufio.NewReader(c)
				err := readWhole(br, "GET")
				switch {
				case err != nil:
				case v.closing:
					if !v.pipelined {
						// Sent once the answer is complete: a parked
						// stream's connection must not have gone back to
						// the server.
						io.WriteString(c, "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
					}
					if rest, rerr := io.ReadAll(br); len(rest) > 0 || rerr != nil && !isReset(rerr) {
						err = fmt.Errorf("after the answer read %q, %v; want the connection closed", clipString(rest), rerr)
					}
				default:
					if _, perr := br.Peek(1); perr == io.EOF {
						t.Logf("%s: connection closed after the answer; the pipelined ping is the client's to resend", kind.name)
					} else if err = readWhole(br, "GET"); err != nil {
						err = fmt.Errorf("pipelined ping: %w", err)
					}
				}
				if err != nil {
					t.Errorf("%s, %s: %v", kind.name, v.name, err)
				}
				c.Close()
			}
		}
	})
}

// readWhole reads one response of a request of method and all of its
// body, failing on an error status or a truncated body.
func readWhole(br *bufio.Reader, method string) error {
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return fmt.Errorf("reading response: %w", err)
	}
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return fmt.Errorf("reading body of %s: %w", res.Status, err)
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("got %s; want 200", res.Status)
	}
	return nil
}

func clipString(b []byte) string {
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}

// shortSock is a fresh Unix socket path for a simulator.
func shortSock(t *testing.T) string {
	t.Helper()
	return testsock.Path(t, "sim.sock")
}

// TestUnsolicitedBytesOnIdleConn has an upstream that keeps its
// connections open and writes a second response nobody asked for after
// the first: with the response (in the same write) or later, while the
// connection is idle. The next request must get its own answer, never the
// unsolicited one (which could be another client's).
func TestUnsolicitedBytesOnIdleConn(t *testing.T) {
	const evil = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, later := range []bool{false, true} {
			inject := make(chan struct{})
			injected := make(chan struct{}, 1)
			closed := make(chan struct{}, 1)
			up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
				c.SetDeadline(time.Now().Add(testDeadline))
				for {
					req, _, err := readRequest(br)
					if err != nil {
						select {
						case closed <- struct{}{}:
						default:
						}
						return
					}
					switch {
					case req.URL.Path == "/first" && later:
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
						<-inject
						io.WriteString(c, evil)
						injected <- struct{}{}
					case req.URL.Path == "/first":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"+evil)
						injected <- struct{}{}
					default:
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nGOOD")
					}
				}
			})
			f := startFront(t, s, up.path, parkAtOnce)
			tr := &http.Transport{}
			c := &http.Client{Transport: tr, Timeout: testDeadline}
			if code, body, err := getBody(c, f.URL+"/first"); err != nil || body != "OK" {
				t.Fatalf("first: got %d %q, %v; want 200 OK", code, body, err)
			}
			if later {
				close(inject)
			}
			if _, err := testsock.WaitFor(injected, "the upstream to write its unsolicited answer"); err != nil {
				t.Fatal(err)
			}
			if s.Transport != TransportRaw {
				// Go's transport sees the bytes in its idle connection's
				// own read, concurrently: wait until it has closed it.
				if _, err := testsock.WaitFor(closed, "Go's transport to close the connection"); err != nil {
					t.Fatal(err)
				}
			}
			code, body, err := getBody(c, f.URL+"/second")
			if err == nil && (code != 200 || body != "GOOD") {
				err = fmt.Errorf("second request got %d %q; want its own answer, 200 GOOD", code, body)
			}
			if err != nil {
				t.Errorf("unsolicited bytes written later %v: %v", later, err)
			}
			tr.CloseIdleConnections()
		}
	})
}

// TestUnaskedSwitch has the upstream answer 101 where it must not: to a
// request that asked for no upgrade, naming no protocol, or another
// protocol than asked. The client must get 502, never a tunnel.
func TestUnaskedSwitch(t *testing.T) {
	const (
		plain   = "GET /containers/json HTTP/1.1\r\nHost: d\r\n\r\n"
		upgrade = "POST /containers/c1/attach HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
	)
	cases := []struct{ name, request, answer string }{
		{"plain-request", plain, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"},
		{"plain-request-no-protocol", plain, "HTTP/1.1 101 Switching Protocols\r\n\r\n"},
		{"no-protocol", upgrade, "HTTP/1.1 101 UPGRADED\r\n\r\n"},
		{"connection-only", upgrade, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\n\r\n"},
		{"other-protocol", upgrade, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
	}
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, tc := range cases {
			up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err == nil {
					io.WriteString(c, tc.answer+"tunnelled bytes")
				}
				io.Copy(io.Discard, br) // until the proxy closes
			})
			f := startFront(t, s, up.path, parkAtOnce)
			c := f.dial(t)
			io.WriteString(c, tc.request)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Errorf("%s: reading answer: %v", tc.name, err)
				continue
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusBadGateway || strings.Contains(string(body), "tunnelled") {
				t.Errorf("%s: got %s %q; want 502 and no tunnel", tc.name, res.Status, clipString(body))
			}
		}
	})
}

// TestHTTP10Clients runs HTTP/1.0 clients through the proxy: a truncated
// body must end in a reset (their bodies are close-delimited, so a clean
// close would look complete), keep-alive works when asked for, a stream
// arrives close-delimited, no 1xx response reaches them, and their
// Expect: 100-continue does not go upstream (RFC 9110 sections 15.2 and
// 10.1.1).
func TestHTTP10Clients(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		sim := startSim(t, shortSock(t))
		f := startFront(t, s, sim.Path(), parkAtOnce)

		for _, p := range []struct{ name, path string }{
			{"chunked", "/images/x/get?size=4MiB&fail_after=1000000"},
			{"logs", "/containers/c1/logs?follow=1&stdout=1&lines=1000&fail_after=5000"},
		} {
			c := f.dial(t)
			fmt.Fprintf(c, "GET %s HTTP/1.0\r\n\r\n", p.path)
			got, err := io.ReadAll(c)
			if err == nil {
				err = fmt.Errorf("read %d bytes and a clean end; want a reset", len(got))
			} else if !errors.Is(err, syscall.ECONNRESET) {
				err = fmt.Errorf("read %d bytes, then %w; want a reset", len(got), err)
			} else {
				err = nil
			}
			expect(t, s.Mode, "http10/truncated-"+p.name, err)
		}

		c := f.dial(t)
		br := bufio.NewReader(c)
		for i := range 2 {
			io.WriteString(c, "GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			if err := readWhole(br, "GET"); err != nil {
				t.Errorf("keep-alive request %d: %v", i+1, err)
			}
		}

		c = f.dial(t)
		io.WriteString(c, "GET /events?count=3&every=1ms HTTP/1.0\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		body, err := io.ReadAll(res.Body)
		if n := strings.Count(string(body), "\n"); err != nil || n != 3 || len(res.TransferEncoding) > 0 {
			t.Errorf("stream: got %d events (%v), transfer-encoding %v; want 3 events, close-delimited", n, err, res.TransferEncoding)
		}
	})
}

// TestHTTP10Informational has an upstream that sends 103 Early Hints, and
// answers 100 Continue when asked, to an HTTP/1.0 client whose request
// carries Expect: 100-continue: neither may reach the client, and the
// expectation must not reach the upstream.
func TestHTTP10Informational(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		expectSeen := make(chan string, 1)
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			expectSeen <- r.Header.Get("Expect")
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.Copy(io.Discard, r.Body) // answers 100 Continue when asked
			io.WriteString(w, "done")
		}))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		io.WriteString(c, "POST /build HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
		got, _ := io.ReadAll(c)
		var err error
		if line, _, _ := strings.Cut(string(got), "\r\n"); !strings.HasSuffix(line, " 200 OK") {
			err = fmt.Errorf("first line %q; want the final 200, no 1xx", line)
		}
		if e, werr := testsock.WaitFor(expectSeen, "the upstream's request"); werr != nil || e != "" {
			err = errors.Join(err, fmt.Errorf("upstream got Expect %q (%v); want none", e, werr))
		}
		expect(t, s.Mode, "http10/1xx", err)
	})
}

// TestDuplicateContentLength has the upstream repeat an identical
// Content-Length field; the client must get it once.
func TestDuplicateContentLength(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
			for {
				if _, _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
			}
		})
		f := startFront(t, s, up.path, parkAtOnce)
		c := f.dial(t)
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
		got, _ := io.ReadAll(c)
		head, body, _ := strings.Cut(string(got), "\r\n\r\n")
		if n := strings.Count(strings.ToLower(head), "\r\ncontent-length:"); n != 1 || body != "abc" {
			t.Errorf("client got %d Content-Length fields and body %q:\n%s\nwant 1 and %q", n, body, head, "abc")
		}
	})
}
