package proxy

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/dockerapi"
	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/policy"
)

// seen is what a recordingObserver keeps of an Outcome (never the request).
type seen struct {
	method, path      string
	op                dockerapi.Op
	verdict           Verdict
	rule              string
	status            int
	bytesIn, bytesOut int64
}

// recordingObserver sends each Outcome on a channel and keeps the stream
// gauges.
type recordingObserver struct {
	got     chan seen
	mu      sync.Mutex
	streams [3]int
	maxUp   int
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{got: make(chan seen, 64)}
}

func (r *recordingObserver) Observe(o Outcome) {
	r.got <- seen{o.Req.Method, o.Req.URL.Path, o.Op, o.Verdict, o.Rule, o.Status, o.BytesIn, o.BytesOut}
}

func (r *recordingObserver) Stream(k StreamKind, delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.streams[k] += delta
	if k == StreamUpgraded {
		r.maxUp = max(r.maxUp, r.streams[k])
	}
}

// next waits for the next Outcome.
func (r *recordingObserver) next(t *testing.T, what string) seen {
	t.Helper()
	s, err := testsock.WaitFor(r.got, what)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var observed = flag.Bool("observed", false, "run every proxy the tests serve with an Observer (go test ./proxy -args -observed)")

// nopObserver counts nothing: startFront gives it to every proxy without
// an Observer when -observed is set, so that the whole suite can run
// through the observed path.
type nopObserver struct{}

func (nopObserver) Observe(Outcome)        {}
func (nopObserver) Stream(StreamKind, int) {}

// TestObserver sends a ping, a Content-Length blob, a chunked image save,
// an image load with a body, an attach upgrade and a refused exec through
// an observed proxy in every mode and transport, and checks each Outcome:
// operation, verdict, status and bytes in both directions, and that the
// stream gauges come back to zero.
func TestObserver(t *testing.T) {
	const size = 1 << 20
	pol, err := policy.Parse("test", strings.NewReader("allow SystemPing ImageGet ImageLoad ContainerAttach\n"))
	if err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, policed := range []bool{false, true} {
			sock := testsock.Path(t, "obs.sock")
			startSim(t, sock)
			obs := newRecordingObserver()
			opts := []frontOption{withObserver(obs)}
			verdict := Unchecked
			if policed {
				opts = append(opts, withPolicy(pol))
				verdict = Allowed
			}
			f := startFront(t, s, sock, opts...)
			c := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
			defer c.CloseIdleConnections()

			do := func(method, path string, body []byte) {
				t.Helper()
				var r io.Reader
				if body != nil {
					r = bytes.NewReader(body)
				}
				req, _ := http.NewRequest(method, f.URL+path, r)
				res, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			check := func(what string, got seen, op dockerapi.Op, v Verdict, status int, in, out int64) {
				t.Helper()
				if out < 0 && got.bytesOut > 0 {
					out = got.bytesOut // some answer
				}
				if got.op != op || got.verdict != v || got.status != status || got.bytesIn != in || got.bytesOut != out {
					t.Errorf("policy=%v: %s: got op %s, %s, status %d, in %d, out %d; want %s, %s, %d, %d, %d",
						policed, what, got.op, got.verdict, got.status, got.bytesIn, got.bytesOut, op, v, status, in, out)
				}
			}

			do("GET", "/_ping", nil)
			check("ping", obs.next(t, "ping"), dockerapi.SystemPing, verdict, 200, 0, 2)
			do("GET", fmt.Sprintf("/v1.41/images/x/get?size=%d", size), nil)
			check("image save", obs.next(t, "image save"), dockerapi.ImageGet, verdict, 200, 0, size)
			load := bytes.Repeat([]byte("x"), 100<<10)
			do("POST", "/images/load", load)
			check("image load", obs.next(t, "image load"), dockerapi.ImageLoad, verdict, 200, int64(len(load)), -1)
			if !policed {
				do("GET", fmt.Sprintf("/_lab/blob?size=%d", size), nil)
				check("blob", obs.next(t, "blob"), dockerapi.Unknown, Unchecked, 200, 0, size)
			} else {
				do("POST", "/containers/c1/exec", []byte("{}"))
				select {
				case got := <-obs.got:
					check("refused exec", got, dockerapi.ContainerExec, Denied, 403, 0, 0)
					if got.rule == "" {
						t.Errorf("refused exec: no rule")
					}
				default:
					// A client that scrapes the metrics once it has its answer.
					t.Errorf("refused exec: not reported by the time the client had its answer")
					obs.next(t, "refused exec")
				}
			}

			// An Upgrade naming no protocol one can print: the front end's
			// own answer, reported, and its stream gauge back to zero.
			conn := f.dial(t)
			io.WriteString(conn, "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: t\xe9\r\n\r\n")
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
			check("bad upgrade", obs.next(t, "bad upgrade"), dockerapi.SystemPing, verdict, res.StatusCode, 0, -1)

			// An attach: the Outcome comes when the stream has ended.
			conn = f.dial(t)
			io.WriteString(conn, upgradeRequest)
			br := bufio.NewReader(conn)
			res, err = http.ReadResponse(br, nil)
			if err != nil || res.StatusCode != 101 {
				t.Fatalf("attach: %v %v", res, err)
			}
			io.WriteString(conn, "hello")
			conn.CloseWrite()
			io.Copy(io.Discard, br)
			conn.Close()
			check("attach", obs.next(t, "attach"), dockerapi.ContainerAttach, verdict, 101, 0, 0)

			obs.mu.Lock()
			streams, maxUp := obs.streams, obs.maxUp
			obs.mu.Unlock()
			if streams != [3]int{} {
				t.Errorf("policy=%v: streams %v after every request ended; want zeros", policed, streams)
			}
			if maxUp != 1 && s.Mode != ModeStdlib && s.Mode != ModeStdlibDefault {
				t.Errorf("policy=%v: upgraded streams peaked at %d; want 1", policed, maxUp)
			}
		}
	})
}
