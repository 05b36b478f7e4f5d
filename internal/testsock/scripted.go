package testsock

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Deadline bounds every wait of a test: long enough never to fire on a
// loaded machine, short enough that a hang fails rather than stalls CI.
const Deadline = 20 * time.Second

// Scripted is an upstream on a Unix socket that runs a test's script on
// each accepted connection.
type Scripted struct {
	Path  string       // the socket
	Dials atomic.Int64 // connections accepted so far
}

// StartScripted listens on a fresh socket and runs serve on each accepted
// connection (n counts them from 1), with a reader over it. The listener
// and every connection are closed, and every serve has returned, when the
// test ends.
func StartScripted(t *testing.T, serve func(n int64, c net.Conn, br *bufio.Reader)) *Scripted {
	t.Helper()
	u := &Scripted{Path: Path(t, "raw.sock")}
	ln, err := net.Listen("unix", u.Path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			n := u.Dials.Add(1)
			wg.Go(func() {
				defer c.Close()
				serve(n, c, bufio.NewReader(c))
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return u
}

// ReadRequest reads one request and its whole body from br.
func ReadRequest(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	return req, body, err
}

// WaitFor waits for a value on ch until [Deadline].
func WaitFor[T any](ch <-chan T, what string) (T, error) {
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v, nil
	case <-timer.C:
		var zero T
		return zero, errors.New("gave up waiting for " + what)
	}
}

// Gen yields n deterministic pseudo-random bytes (xorshift64*): no period
// a dropped or repeated block could hide in. Reads are multiples of 8
// bytes except the last, so every Gen of the same n yields the same bytes
// whatever the read sizes.
type Gen struct {
	n     int64
	state uint64
	rest  []byte // unread tail of the last word
	word  [8]byte
}

// NewGen returns a Gen of n bytes.
func NewGen(n int64) *Gen { return &Gen{n: n, state: 0x9E3779B97F4A7C15} }

func (g *Gen) next() uint64 {
	g.state ^= g.state >> 12
	g.state ^= g.state << 25
	g.state ^= g.state >> 27
	return g.state * 2685821657736338717
}

func (g *Gen) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	for ; n+8 <= len(p); n += 8 {
		binary.LittleEndian.PutUint64(p[n:], g.next())
	}
	if n < len(p) {
		binary.LittleEndian.PutUint64(g.word[:], g.next())
		k := copy(p[n:], g.word[:])
		g.rest = g.word[k:]
		n += k
	}
	g.n -= int64(n)
	return n, nil
}

// GenSHA256 is the sha256 of NewGen(n)'s bytes.
func GenSHA256(tb testing.TB, n int64) [32]byte {
	tb.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, NewGen(n)); err != nil {
		tb.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
