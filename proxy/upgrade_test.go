package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/internal/wire"
)

// upgradeRequest is docker attach's request, as the CLI sends it.
const upgradeRequest = "POST /v1.41/containers/c1/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n" +
	"Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"

// upstreamEcho hijacks an attach request the way dockerd does: it answers
// 101 UPGRADED followed at once (in the same write) by "hello\n", so the
// proxy's transport holds bytes in its buffer when it sees the 101. Then
// it echoes stdin until EOF, writes "final\n" and closes. What it read,
// and how reading ended, goes to got.
func upstreamEcho(got chan<- result) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "tcp" || !wire.HasToken(r.Header["Connection"], "Upgrade") {
			got <- result{err: fmt.Errorf("upstream got Connection %q, Upgrade %q; want Upgrade, tcp",
				r.Header["Connection"], r.Header["Upgrade"])}
			http.Error(w, "no upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(testDeadline))
		io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"+
			"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello\n")
		var in []byte
		buf := make([]byte, 4096)
		for {
			n, err := brw.Read(buf)
			in = append(in, buf[:n]...)
			if _, werr := conn.Write(buf[:n]); werr != nil {
				got <- result{data: string(in), err: werr}
				return
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				got <- result{data: string(in), err: err}
				return
			}
		}
		io.WriteString(conn, "final\n")
		got <- result{data: string(in)}
	}
}

type result struct {
	data string
	err  error
}

// readUpgrade reads the proxy's answer to upgradeRequest and checks it is
// the upstream's 101.
func readUpgrade(br *bufio.Reader) error {
	res, err := http.ReadResponse(br, &http.Request{Method: "POST"})
	if err != nil {
		return fmt.Errorf("reading 101: %w", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(res.Body)
		return fmt.Errorf("got %s %q; want 101 UPGRADED", res.Status, body)
	}
	if res.Status != "101 UPGRADED" || res.Header.Get("Upgrade") != "tcp" ||
		!wire.HasToken(res.Header["Connection"], "Upgrade") || res.Header.Get("Content-Type") == "" {
		return fmt.Errorf("got %q with header %v; want 101 UPGRADED with Upgrade: tcp and the upstream's Content-Type",
			res.Status, res.Header)
	}
	return nil
}

// TestUpgrade runs docker attach's exchange through the proxy: Connection:
// Upgrade and Upgrade: tcp reach the upstream, its 101 reaches the client,
// and the client's half-close reaches the upstream, whose last output then
// reaches the client before EOF. Three clients: one that talks after the
// 101 (the docker CLI), one that sends stdin with its request, before the
// 101, and one that half-closes as soon as it has the 101, with no stdin
// (docker run with stdin closed). A client that half-closes before the 101
// is taken as gone (TestUpgradeClientLeaves).
func TestUpgrade(t *testing.T) {
	cases := []struct {
		name   string
		client func(c *net.TCPConn, br *bufio.Reader) (string, error)
		stdin  string // what the upstream must have read
		output string // what the client must have read after the 101
	}{
		{
			name: "after-101",
			client: func(c *net.TCPConn, br *bufio.Reader) (string, error) {
				io.WriteString(c, upgradeRequest)
				if err := readUpgrade(br); err != nil {
					return "", err
				}
				// Lock-step: each piece comes back before the next is sent.
				var out []byte
				for _, line := range []string{"hello\n", "ping\n"} {
					if line != "hello\n" {
						io.WriteString(c, line)
					}
					got, err := br.ReadString('\n')
					out = append(out, got...)
					if err != nil || got != line {
						return string(out), fmt.Errorf("read %q, %v; want %q", got, err, line)
					}
				}
				io.WriteString(c, "last\n")
				c.CloseWrite()
				rest, err := io.ReadAll(br)
				return string(out) + string(rest), err
			},
			stdin:  "ping\nlast\n",
			output: "hello\nping\nlast\nfinal\n",
		},
		{
			name: "eager",
			client: func(c *net.TCPConn, br *bufio.Reader) (string, error) {
				// stdin sent with the request, before the 101; the
				// half-close once the 101 has come.
				io.WriteString(c, upgradeRequest+"ping\n")
				if err := readUpgrade(br); err != nil {
					return "", err
				}
				c.CloseWrite()
				out, err := io.ReadAll(br)
				return string(out), err
			},
			stdin:  "ping\n",
			output: "hello\nping\nfinal\n",
		},
		{
			name: "no-stdin",
			client: func(c *net.TCPConn, br *bufio.Reader) (string, error) {
				io.WriteString(c, upgradeRequest)
				if err := readUpgrade(br); err != nil {
					return "", err
				}
				c.CloseWrite()
				out, err := io.ReadAll(br)
				return string(out), err
			},
			stdin:  "",
			output: "hello\nfinal\n",
		},
	}
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, tc := range cases {
			got := make(chan result, 1)
			up := startUpstream(t, upstreamEcho(got))
			f := startFront(t, s, up, parkAtOnce)
			c := f.dial(t)
			out, err := tc.client(c, bufio.NewReader(c))
			if err == nil && out != tc.output {
				err = fmt.Errorf("client read %q; want %q", out, tc.output)
			}
			if err == nil {
				var r result
				if r, err = testsock.WaitFor(got, "the upstream to finish"); err == nil {
					if r.err != nil {
						err = fmt.Errorf("upstream: %w", r.err)
					} else if r.data != tc.stdin {
						err = fmt.Errorf("upstream read %q; want %q", r.data, tc.stdin)
					}
				}
			}
			c.Close()
			expect(t, s.Mode, "upgrade/"+tc.name, err)
		}
	})
}

// TestUpgradeUpstreamHalfClose has the upstream finish first: its
// half-close must reach the client as EOF while the client can still send,
// and what the client sends after must still reach the upstream.
func TestUpgradeUpstreamHalfClose(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		got := make(chan result, 1)
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				got <- result{err: err}
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(testDeadline))
			io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"+
				"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nbye\n")
			if err := conn.(*net.UnixConn).CloseWrite(); err != nil {
				got <- result{err: err}
				return
			}
			in, err := io.ReadAll(brw)
			got <- result{data: string(in), err: err}
		}))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		br := bufio.NewReader(c)
		io.WriteString(c, upgradeRequest)
		if err := readUpgrade(br); err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(br)
		if err != nil || string(out) != "bye\n" {
			t.Fatalf("client read %q, %v; want %q then EOF", out, err, "bye\n")
		}
		if _, err := io.WriteString(c, "late\n"); err != nil {
			t.Fatalf("client write after upstream's half-close: %v", err)
		}
		c.CloseWrite()
		r, err := testsock.WaitFor(got, "the upstream to read the client's EOF")
		if err != nil {
			t.Fatal(err)
		}
		if r.err != nil || r.data != "late\n" {
			t.Errorf("upstream read %q, %v; want %q then EOF", r.data, r.err, "late\n")
		}
	})
}

// TestUpgradeRefused relays an upstream's refusal of an upgrade (a
// 404 for an unknown container) as an ordinary response.
func TestUpgradeRefused(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"message":"No such container: c1"}`, http.StatusNotFound)
		}))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		br := bufio.NewReader(c)
		io.WriteString(c, upgradeRequest)
		res, err := http.ReadResponse(br, &http.Request{Method: "POST"})
		if err != nil {
			t.Fatalf("reading response: %v", err)
		}
		body, err := io.ReadAll(res.Body)
		if res.StatusCode != 404 || err != nil || len(body) == 0 {
			t.Errorf("got %d %q, %v; want 404 with the upstream's body", res.StatusCode, body, err)
		}
	})
}

// TestUpgradeResponseHeader checks the relayed 101 carries no
// Content-Length, which RFC 9110 forbids on 1xx responses.
func TestUpgradeResponseHeader(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		got := make(chan result, 1)
		up := startUpstream(t, upstreamEcho(got))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		io.WriteString(c, upgradeRequest)
		res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "POST"})
		if err != nil {
			t.Fatalf("reading 101: %v", err)
		}
		if v, ok := res.Header["Content-Length"]; ok {
			err = fmt.Errorf("101 response has Content-Length %q; want none", v)
		}
		expect(t, s.Mode, "upgrade/101-no-content-length", err)
		c.CloseWrite()
		testsock.WaitFor(got, "the upstream to finish")
	})
}

// TestUpgradeWithBody is docker exec start: the upgrade request carries a
// JSON body, which the upstream reads before it answers 101. The client
// half-closes at once after its stdin.
func TestUpgradeWithBody(t *testing.T) {
	const config = `{"Detach":false,"Tty":false}`
	forEachSetup(t, func(t *testing.T, s Setup) {
		got := make(chan result, 1)
		echo := upstreamEcho(got)
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil || string(body) != config {
				got <- result{err: fmt.Errorf("upstream read body %q, %v; want %q", body, err, config)}
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			echo(w, r)
		}))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		br := bufio.NewReader(c)
		fmt.Fprintf(c, "POST /v1.41/exec/e1/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"+
			"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n%s", len(config), config)
		if err := readUpgrade(br); err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "ls\n")
		c.CloseWrite()
		out, err := io.ReadAll(br)
		if want := "hello\nls\nfinal\n"; err != nil || string(out) != want {
			t.Errorf("client read %q, %v; want %q then EOF", out, err, want)
		}
		r, err := testsock.WaitFor(got, "the upstream to finish")
		if err != nil {
			t.Fatal(err)
		}
		if r.err != nil || r.data != "ls\n" {
			t.Errorf("upstream read stdin %q, %v; want %q then EOF", r.data, r.err, "ls\n")
		}
	})
}

// TestUpgradeClientLeaves has a client leave an upgrade request whose
// upstream has not answered yet: the proxy must give up the round trip
// and close the upstream connection, as for any other request, instead of
// holding both connections until the upstream answers. The upstream waits
// for its connection to end (by the test deadline) before it would answer.
func TestUpgradeClientLeaves(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		arrived := make(chan struct{}, 1)
		ended := make(chan error, 1)
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				ended <- err
				return
			}
			defer conn.Close()
			arrived <- struct{}{}
			conn.SetDeadline(time.Now().Add(testDeadline))
			_, err = brw.ReadByte() // the proxy's close, or the deadline
			if err == io.EOF {
				err = nil
			} else if err == nil {
				err = errors.New("upstream read a byte; want its connection closed")
			}
			ended <- err
		}))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		io.WriteString(c, upgradeRequest)
		if _, err := testsock.WaitFor(arrived, "the request to reach the upstream"); err != nil {
			t.Fatal(err)
		}
		c.Close()
		err, werr := testsock.WaitFor(ended, "the upstream connection to be closed")
		if werr != nil {
			t.Fatal(werr)
		}
		if err != nil {
			t.Errorf("upstream connection not closed after the client left: %v", err)
		}
	})
}
