package upstream

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// hijackRequest is a raw request whose stdin bytes follow in the same write,
// so that the server has them buffered when it hijacks.
func hijackRequest(method, target string, headers []string, body, stdin string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: docker\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body + stdin)
	return b.String()
}

// readRawHead reads a hijacked answer's head up to the blank line, as bytes.
func readRawHead(t *testing.T, rc *rawConn) string {
	t.Helper()
	var head strings.Builder
	for {
		line, err := rc.br.ReadString('\n')
		if err != nil {
			t.Fatalf("read head: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String()
		}
	}
}

func TestAttachEcho(t *testing.T) {
	srv := startServer(t)
	upgrade := []string{"Connection: Upgrade", "Upgrade: tcp"}
	middleware := "Api-Version: 1.41\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Docker/" + ServerVersion + " (linux)\r\n"
	cases := []struct {
		name, method, target string
		headers              []string
		body, wantHead       string
	}{
		{"attach upgrade", "POST", "/v1.41/containers/c/attach?stream=1&stdin=1&stdout=1", upgrade, "",
			"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"},
		{"attach plain", "POST", "/containers/c/attach?stream=1&stdin=1&stdout=1", nil, "",
			"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"},
		{"exec upgrade", "POST", "/v1.41/exec/e/start", upgrade, `{"Detach":false,"Tty":false}`,
			"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n" + middleware + "\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, srv.Path())
			// "early" arrives with the request: buffered at hijack time.
			io.WriteString(rc.c, hijackRequest(tc.method, tc.target, tc.headers, tc.body, "early\n"))
			if got := readRawHead(t, rc); got != tc.wantHead {
				t.Errorf("head %q; want %q", got, tc.wantHead)
			}
			var got strings.Builder
			for got.Len() < len("early\n") {
				s, p, err := ReadFrame(rc.br)
				if err != nil || s != Stdout {
					t.Fatalf("early echo: stream %d, %v", s, err)
				}
				got.Write(p)
			}
			if got.String() != "early\n" {
				t.Errorf("echo of buffered stdin %q; want %q", got.String(), "early\n")
			}
			big := strings.Repeat("0123456789abcdef", 10000)
			go rc.c.Write([]byte(big)) // the echo comes back while we write
			got.Reset()
			for got.Len() < len(big) {
				s, p, err := ReadFrame(rc.br)
				if err != nil || s != Stdout {
					t.Fatalf("echo after %d bytes: stream %d, %v", got.Len(), s, err)
				}
				got.Write(p)
			}
			if got.String() != big {
				t.Error("echo differs from stdin")
			}
			if err := rc.c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			s, p, err := ReadFrame(rc.br)
			want := fmt.Sprintf("stdin closed after %d bytes\n", len("early\n")+len(big))
			if err != nil || s != Stderr || string(p) != want {
				t.Errorf("final frame: stream %d %q, %v; want 2 %q", s, p, err, want)
			}
			if _, _, err := ReadFrame(rc.br); err != io.EOF {
				t.Errorf("after the final frame: %v; want io.EOF", err)
			}
		})
	}
}

// Close ends hijacked streams too, and removes the socket.
func TestCloseHijacked(t *testing.T) {
	srv, err := Start(testsock.Path(t, "up.sock"))
	if err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Path())
	io.WriteString(rc.c, hijackRequest("POST", "/containers/c/attach", []string{"Connection: Upgrade", "Upgrade: tcp"}, "", ""))
	readRawHead(t, rc)
	events := dialRaw(t, srv.Path())
	events.send("GET", "/events?every=1h", nil, nil)
	events.head()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := ReadFrame(rc.br); err != io.EOF {
		t.Errorf("hijacked stream after Close: %v; want io.EOF", err)
	}
	if _, err := os.Stat(srv.Path()); !os.IsNotExist(err) {
		t.Errorf("socket after Close: %v; want it removed", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartInUse(t *testing.T) {
	srv := startServer(t)
	if _, err := Start(srv.Path()); err == nil || !strings.Contains(err.Error(), srv.Path()) {
		t.Errorf("Start on a socket in use: %v; want an error naming the path", err)
	}
}
