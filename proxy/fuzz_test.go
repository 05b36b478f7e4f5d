package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// fuzzDeadline bounds one fuzz exchange: far above what a healthy one
// takes, so reaching it means the proxy hung.
const fuzzDeadline = 10 * time.Second

// fuzzFronts starts one recording upstream per mode and transport, each
// with a checked front end, for the whole fuzz run.
func fuzzFronts(f *testing.F) (names []string, fronts []*checkedFront, ups []*recordingUpstream) {
	for _, s := range Setups() {
		up := startRecordingUpstream(f)
		names = append(names, s.String())
		fronts = append(fronts, startCheckedFront(f, s, up.path))
		ups = append(ups, up)
	}
	return names, fronts, ups
}

// rawExchange writes raw to addr, half-closes if asked, and reads until
// the front end closes. An error means the front end neither answered nor closed by
// the deadline.
func rawExchange(addr string, raw []byte, halfClose bool) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(fuzzDeadline))
	if _, err := c.Write(raw); err != nil && !isReset(err) {
		return "", err
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	out, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(out), err
	}
	return string(out), nil
}

// FuzzProxyRequest feeds arbitrary bytes to the proxy's front end in every
// mode, then half-closes. Whatever the bytes, the proxy must not panic or
// hang, and the upstream must read nothing ambiguous, and nothing complete
// that differs from what the front end accepted: its method, target and
// body.
func FuzzProxyRequest(f *testing.F) {
	for _, tc := range hostileCases {
		f.Add([]byte(strings.TrimSuffix(tc.raw, "\x00EOF")))
	}
	f.Add([]byte("GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n"))
	f.Add([]byte("POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTe: trailers\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"))
	f.Add([]byte(upgradeRequest))
	names, fronts, ups := fuzzFronts(f)
	ledgers := make([]ledger, len(fronts))
	var recent []string // the last inputs: a request may reach the upstream late
	f.Fuzz(func(t *testing.T, raw []byte) {
		recent = append(recent, string(raw))
		if len(recent) > 40 {
			recent = recent[1:]
		}
		for i, front := range fronts {
			if front.oracle {
				front.acceptAsNetHTTP(string(raw))
			}
			out, err := rawExchange(front.addr, raw, true)
			if err != nil {
				t.Fatalf("%s: front end hung: %v (read %.200q)", names[i], err, out)
			}
			if err := ledgers[i].check(front.accepted(), ups[i].requests()); err != nil {
				t.Fatalf("%s: %v (the last inputs: %q)", names[i], err, recent)
			}
		}
	})
}

// ledger matches what an upstream read whole against what its front end
// accepted, across fuzz inputs: a request whose client left (the fuzz
// client half-closes) may still reach the upstream after the front end
// has closed the connection, so it is matched when it arrives, against
// the front end's recent unmatched requests.
type ledger struct {
	frontDone, upDone int
	unused            []int // indexes of accepted requests not matched yet, oldest first
}

// check matches the upstream's new requests; front and up are everything
// so far.
func (l *ledger) check(front, up []seenRequest) error {
	for ; l.frontDone < len(front); l.frontDone++ {
		l.unused = append(l.unused, l.frontDone)
	}
	for ; l.upDone < len(up); l.upDone++ {
		r := up[l.upDone]
		if r.Problem != "" {
			return fmt.Errorf("upstream read an ambiguous request: %v", r)
		}
		if !r.Complete {
			continue
		}
		k := slices.IndexFunc(l.unused, func(i int) bool {
			a := front[i]
			return a.Method == r.Method && a.URI == r.URI && a.Complete && a.Body == r.Body
		})
		if k < 0 {
			var recent []seenRequest
			for _, i := range l.unused[max(0, len(l.unused)-4):] {
				recent = append(recent, front[i])
			}
			return fmt.Errorf("upstream read %v, which the front end did not accept (recent unmatched: %v)", r, recent)
		}
		l.unused = slices.Delete(l.unused, k, k+1)
	}
	if n := len(l.unused); n > 256 {
		l.unused = slices.Delete(l.unused, 0, n-256)
	}
	return nil
}

// scriptedUpstream answers every request with the current script, raw,
// then closes the connection.
type scriptedUpstream struct {
	path string
	ln   net.Listener
	wg   sync.WaitGroup

	mu     sync.Mutex
	script []byte
}

func startScriptedUpstream(tb testing.TB) *scriptedUpstream {
	u := &scriptedUpstream{path: testsock.Path(tb, "script.sock")}
	ln, err := net.Listen("unix", u.path)
	if err != nil {
		tb.Fatal(err)
	}
	u.ln = ln
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(fuzzDeadline))
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				u.mu.Lock()
				script := u.script
				u.mu.Unlock()
				c.Write(script)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		u.wg.Wait()
	})
	return u
}

func (u *scriptedUpstream) set(script []byte) {
	u.mu.Lock()
	u.script = script
	u.mu.Unlock()
}

// FuzzProxyResponse has the upstream answer with arbitrary bytes, then
// close, a plain GET or an upgrade. Whatever the bytes, the proxy must not panic or hang, and must
// answer the next request.
func FuzzProxyResponse(f *testing.F) {
	for _, tc := range hostileResponses {
		f.Add([]byte(tc.raw), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nTrailer: X-T\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"), false)
	f.Add([]byte("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello"), true)
	f.Add([]byte("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nhello"), true)
	f.Add([]byte("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"), false)
	var (
		names []string
		ups   []*scriptedUpstream
		addrs []string
	)
	for _, s := range Setups() {
		up := startScriptedUpstream(f)
		front := startCheckedFront(f, s, up.path)
		names = append(names, s.String())
		ups = append(ups, up)
		addrs = append(addrs, front.addr)
	}
	f.Fuzz(func(t *testing.T, script []byte, upgrade bool) {
		// Not half-closed, which net/http would take as the client
		// leaving before the answer; an upgrade half-closes at once, as
		// docker run with no stdin does.
		req := "GET /images/x/get HTTP/1.1\r\nHost: d\r\nTe: trailers\r\nConnection: close\r\n\r\n"
		if upgrade {
			req = strings.Replace(upgradeRequest, "Content-Length: 0\r\n", "", 1)
		}
		for i, up := range ups {
			up.set(script)
			if out, err := rawExchange(addrs[i], []byte(req), upgrade); err != nil {
				t.Fatalf("%s: front end hung: %v (read %.200q)", names[i], err, out)
			}
			up.set([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"))
			if code, body := pingRaw(t, addrs[i]); code != 200 || body != "OK" {
				t.Fatalf("%s: next request got %d %q; want 200 OK", names[i], code, body)
			}
		}
	})
}
