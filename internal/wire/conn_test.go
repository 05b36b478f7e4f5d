package wire

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// TestRawWaitReadable: each raw body waits, with no read buffer of its
// own, while the upstream is silent, and returns at once when a Read would
// not block. The upstream sends a response with a first piece, then, on
// the test's word, the rest. While it is silent, a read deadline already
// past makes a wait that blocks fail at once with os.ErrDeadlineExceeded
// (a wait that wrongly returns nil shows there), so no timing is involved.
// For chunked, the first chunk arrives with its CRLF, which must not count
// as readable.
func TestRawWaitReadable(t *testing.T) {
	cases := []struct {
		name        string
		head, first string // sent at once
		rest        string // sent on the test's word
		want1       string
		want        string // the whole body
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", "abc", "def", "abc", "abcdef"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\nabc\r\n", "3\r\ndef\r\n0\r\n\r\n", "abc", "abcdef"},
		{"close-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", "abc", "def", "abc", "abcdef"},
	}
	for _, tc := range cases {
		t.Run("framing="+tc.name, func(t *testing.T) {
			sock := testsock.Path(t, "w.sock")
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			release := make(chan struct{})
			served := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					served <- err
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil { // the request (small: one read)
					served <- err
					return
				}
				io.WriteString(c, tc.head+tc.first)
				<-release
				_, err = io.WriteString(c, tc.rest)
				served <- err
			}()
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
				<-served
			}()

			tr := NewTransport(sock, 1, time.Second)
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", "http://docker/events", nil)
			res, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			w, ok := res.Body.(bodycopy.ReadWaiter)
			if !ok {
				t.Fatalf("body %T is not a copy.ReadWaiter", res.Body)
			}
			rc := rawConnOf(t, res.Body)
			p := make([]byte, 64)
			n, err := io.ReadAtLeast(res.Body, p, len(tc.want1))
			if err != nil || string(p[:n]) != tc.want1 {
				t.Fatalf("first Read: got %q, %v; want %q", p[:n], err, tc.want1)
			}

			rc.c.SetReadDeadline(time.Now().Add(-time.Second))
			if err := w.WaitReadable(); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("WaitReadable on a silent upstream: got %v; want it to block (here: os.ErrDeadlineExceeded)", err)
			}
			if rc.br == nil {
				t.Fatal("after the wait: no read buffer; want an empty one back")
			}
			if n := rc.br.Buffered(); n != 0 {
				t.Fatalf("after the wait: %d bytes left in the read buffer; want 0 (framing consumed)", n)
			}
			rc.c.SetReadDeadline(time.Time{})

			close(release)
			if err := w.WaitReadable(); err != nil {
				t.Fatalf("WaitReadable once the rest was sent: got %v; want nil", err)
			}
			rest, err := io.ReadAll(res.Body)
			if got := tc.want1 + string(rest); err != nil || got != tc.want {
				t.Fatalf("body: got %q, %v; want %q", got, err, tc.want)
			}
			if err := w.WaitReadable(); err != nil {
				t.Errorf("WaitReadable at the end: got %v; want nil at once", err)
			}
		})
	}
}

// rawConnOf returns the connection under a raw transport body.
func rawConnOf(t *testing.T, body io.ReadCloser) *conn {
	t.Helper()
	switch b := body.(type) {
	case *lengthBody:
		return b.f.rc
	case *ChunkedBody:
		return b.f.rc
	case *closeBody:
		return b.f.rc
	}
	t.Fatalf("body %T is not a raw transport body", body)
	return nil
}

// BenchmarkUnsolicitedCheck is what the raw transport pays per reuse of an
// idle connection to refuse one with unsolicited bytes: one non-blocking
// recv(MSG_PEEK) (issue 17, defect 3).
func BenchmarkUnsolicitedCheck(b *testing.B) {
	path := testsock.Path(b, "idle.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	peer := <-accepted
	defer peer.Close()
	rc := newConn(nil, c.(*net.UnixConn))
	b.ReportAllocs()
	for b.Loop() {
		if rc.unsolicited() {
			b.Fatal("an idle connection with nothing pending counted as unsolicited")
		}
	}
}
