package loadgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// fake is a small Docker-shaped upstream: just the endpoints the scenarios
// hit, with a counter per path. It stands in for internal/upstream so these
// tests do not depend on it.
type fake struct {
	mu         sync.Mutex
	hits       map[string]int
	containers int // entries /containers/json lists by default
	failAfter  int64
	// closeDelimited answers image saves without Content-Length or
	// chunking, ending the body by closing the connection (as sockproxy's
	// splice-chunked strategy does); a failure then resets a TCP
	// connection (SO_LINGER 0) and closes a Unix one cleanly.
	closeDelimited bool
	wg             sync.WaitGroup // hijacked attach streams
}

func newFake() *fake { return &fake{hits: map[string]int{}, containers: 3, failAfter: -1} }

func (f *fake) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func sizeParam(r *http.Request) int64 {
	n, _ := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
	return n
}

func containerList(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"Id":"%064d","Names":["/c%d"],"Image":"lab","State":"running"}`, i, i)
	}
	b.WriteString("]")
	return b.String()
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	key := path
	if strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json") && path != "/containers/json" {
		key = "/containers/{id}/json"
	}
	if path == "/events" {
		key += "?every=" + r.URL.Query().Get("every")
	}
	if path == "/images/load" && r.ContentLength < 0 {
		key += " chunked"
	}
	f.mu.Lock()
	f.hits[key]++
	f.mu.Unlock()
	switch {
	case path == "/_ping":
		io.WriteString(w, "OK")
	case path == "/version":
		io.WriteString(w, `{"Version":"fake","ApiVersion":"1.41"}`)
	case path == "/containers/json":
		n := f.containers
		if s := r.URL.Query().Get("n"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		io.WriteString(w, containerList(n))
	case path == "/images/json":
		io.WriteString(w, `[{"Id":"sha256:1"}]`)
	case key == "/containers/{id}/json":
		io.WriteString(w, `{"Id":"x","State":{"Running":true}}`)
	case path == "/images/load":
		// The simulator compares the body with its content; this fake
		// checks the length it was told.
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil || r.URL.Query().Get("check") != "content" || n != sizeParam(r) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"message":"body has %d bytes (%v)"}`, n, err)
			return
		}
		io.WriteString(w, `{"sha256":"0"}`)
	case path == "/_lab/blob":
		n := sizeParam(r)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		if f.failAfter >= 0 && f.failAfter < n {
			w.Write(make([]byte, f.failAfter))
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler) // the connection is cut mid-body
		}
		w.Write(make([]byte, n))
	case strings.HasPrefix(path, "/images/") && strings.HasSuffix(path, "/get"):
		n := sizeParam(r)
		if r.URL.Query().Get("size") == "" {
			n = fakeSaveSize
		}
		if f.closeDelimited {
			f.saveClosing(w, n)
			return
		}
		buf := make([]byte, 32<<10)
		var sent int64
		for n > 0 {
			if f.failAfter >= 0 && sent >= f.failAfter {
				panic(http.ErrAbortHandler)
			}
			m := min(n, int64(len(buf)))
			sent += m
			w.Write(buf[:m])
			http.NewResponseController(w).Flush()
			n -= m
		}
	case path == "/events":
		every, _ := time.ParseDuration(r.URL.Query().Get("every"))
		count, _ := strconv.Atoi(r.URL.Query().Get("count"))
		rc := http.NewResponseController(w)
		rc.Flush()
		for i := range count {
			if i > 0 && every > 0 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(every):
				}
			}
			fmt.Fprintf(w, `{"Type":"container","Action":"start","id":"%d","timeNano":%d}`+"\n", i, time.Now().UnixNano())
			rc.Flush()
		}
	case strings.HasSuffix(path, "/attach") && r.Method == http.MethodPost:
		f.attach(w, r)
	case path == "/status":
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
	default:
		http.NotFound(w, r)
	}
}

// fakeSaveSize is the body of an image save without ?size=.
const fakeSaveSize = 300000

// saveClosing writes a close-delimited body of n bytes on the hijacked
// connection, or, with failAfter, that many bytes and then an abort.
func (f *fake) saveClosing(w http.ResponseWriter, n int64) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	brw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nConnection: close\r\n\r\n")
	fail := f.failAfter >= 0 && f.failAfter < n
	if fail {
		n = f.failAfter
	}
	brw.Write(make([]byte, n))
	brw.Flush()
	if tc, ok := conn.(*net.TCPConn); ok && fail {
		tc.SetLinger(0) // Close sends a reset
	}
	conn.Close()
}

// attach echoes stdin as stdout frames; on stdin EOF it writes a final
// frame and closes.
func (f *fake) attach(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	defer conn.Close()
	brw.WriteString("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	brw.Flush()
	buf := make([]byte, 16<<10)
	frame := func(p []byte) error {
		var hdr [8]byte
		hdr[0] = 1
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
		if _, err := conn.Write(hdr[:]); err != nil {
			return err
		}
		_, err := conn.Write(p)
		return err
	}
	var in io.Reader = brw.Reader
	for {
		n, err := in.Read(buf)
		if n > 0 {
			// Split into two frames when possible, so readers must reassemble.
			h := (n + 1) / 2
			if frame(buf[:h]) != nil || frame(buf[h:n]) != nil {
				return
			}
		}
		if err != nil {
			frame([]byte("bye\n"))
			return
		}
	}
}

// serve starts f on a Unix socket (network "unix") or on 127.0.0.1 and
// returns the target URL; the server stops when the test ends.
func serve(t testing.TB, f *fake, network string) string {
	t.Helper()
	var ln net.Listener
	var err error
	if network == "unix" {
		ln, err = net.Listen("unix", testsock.Path(t, "up.sock"))
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(f)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = nil
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		f.wg.Wait()
	})
	if network == "unix" {
		return "unix://" + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}

var _ = bufio.NewReader

// listenSilent returns a Unix socket that accepts connections and never
// answers, closed when the test ends, and a count of accepted connections.
func listenSilent(t *testing.T) (string, func() int) {
	t.Helper()
	path := testsock.Path(t, "silent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return path, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}
