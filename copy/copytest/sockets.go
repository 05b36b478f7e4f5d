package copytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// sockPair is Copy's src and dst as real sockets: src is the read end of a
// Unix socket pair fed through feed; dst is a loopback TCP connection whose
// far end is sink.
type sockPair struct {
	feed, src *net.UnixConn
	dst, sink *net.TCPConn
	wg        sync.WaitGroup // the pair's goroutines
}

func newSockPair(t *testing.T) *sockPair {
	t.Helper()
	ul, err := net.Listen("unix", testsock.Path(t, "src.sock"))
	if err != nil {
		t.Fatalf("listen unix: %v", err)
	}
	defer ul.Close()
	feed, err := net.Dial("unix", ul.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", ul.Addr(), err)
	}
	src, err := ul.Accept()
	if err != nil {
		feed.Close()
		t.Fatalf("accept %s: %v", ul.Addr(), err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen tcp: %v", err)
	}
	defer tl.Close()
	dst, err := net.Dial("tcp", tl.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", tl.Addr(), err)
	}
	sink, err := tl.Accept()
	if err != nil {
		dst.Close()
		t.Fatalf("accept %s: %v", tl.Addr(), err)
	}
	p := &sockPair{feed: feed.(*net.UnixConn), src: src.(*net.UnixConn), dst: dst.(*net.TCPConn), sink: sink.(*net.TCPConn)}
	t.Cleanup(p.close)
	return p
}

// close closes all four ends and waits for the pair's goroutines.
func (p *sockPair) close() {
	p.feed.Close()
	p.src.Close()
	p.dst.Close()
	p.sink.Close()
	p.wg.Wait()
}

// goFeed writes data to feed, then half-closes it so that src reads EOF.
func (p *sockPair) goFeed(data []byte) {
	p.wg.Go(func() {
		p.feed.Write(data)
		p.feed.CloseWrite()
	})
}

// goFeedForever writes to feed until it fails.
func (p *sockPair) goFeedForever() {
	p.wg.Go(func() { io.Copy(p.feed, &endless{}) })
}

// goSink reads everything that arrives at sink.
func (p *sockPair) goSink() <-chan []byte {
	ch := make(chan []byte, 1)
	p.wg.Go(func() {
		b, _ := io.ReadAll(p.sink)
		ch <- b
	})
	return ch
}

// srcModes give Copy the Unix socket raw or under an *io.LimitedReader of
// the body's length, as a raw transport would.
var srcModes = []struct {
	name string
	make func(c *net.UnixConn, n int) io.Reader
}{
	{"raw", func(c *net.UnixConn, _ int) io.Reader { return c }},
	{"limited", func(c *net.UnixConn, n int) io.Reader { return &io.LimitedReader{R: c, N: int64(n)} }},
}

func testSockets(t *testing.T, s bodycopy.Strategy, o options) {
	for _, n := range []int{0, 1, 32<<10 - 1, 32 << 10, 32<<10 + 1, 1<<20 + 7} {
		data := Data(n)
		for _, m := range srcModes {
			for _, h := range []hint{hints[0], hints[1], hints[3]} {
				name := fmt.Sprintf("size=%d/src=%s/hint=%s", n, m.name, h.name)
				t.Run(name, func(t *testing.T) {
					p := newSockPair(t)
					p.goFeed(data)
					got := p.goSink()
					nw, err := s.Copy(t.Context(), p.dst, m.make(p.src, n), h.size(n))
					if cerr := p.dst.CloseWrite(); cerr != nil {
						t.Fatalf("close write %s: %v", p.dst.LocalAddr(), cerr)
					}
					var b []byte
					select {
					case b = <-got:
					case <-time.After(wait):
						t.Fatalf("%s: sink saw no EOF after %v", name, wait)
					}
					checkCopied(t, name, nw, b, data)
					checkSizeErr(t, name, err, h.wantEOF(n))
				})
			}
		}
	}

	for _, m := range srcModes {
		t.Run("reset-dst/src="+m.name, func(t *testing.T) {
			// The client resets its connection: a write-side failure
			// (SideUnknown only where a splice may report it).
			p := newSockPair(t)
			p.goFeedForever()
			p.sink.SetLinger(0)
			p.sink.Close()
			size := int64(-1)
			if m.name == "limited" {
				size = 1 << 40
			}
			_, err := s.Copy(t.Context(), p.dst, m.make(p.src, int(size)), size)
			t.Logf("reset-dst: Copy error = %v (side %v)", err, bodycopy.SideOf(err))
			checkSide(t, "reset-dst", err, bodycopy.SideWrite, nil, o.sideUnknown)
		})

		t.Run("silent-src/src="+m.name, func(t *testing.T) {
			p := newSockPair(t)
			hello := []byte("hello")
			if _, err := p.feed.Write(hello); err != nil {
				t.Fatalf("write %s: %v", p.feed.LocalAddr(), err)
			}
			arrived := make(chan struct{})
			p.wg.Go(func() {
				buf := make([]byte, len(hello))
				if _, err := io.ReadFull(p.sink, buf); err == nil && bytes.Equal(buf, hello) {
					close(arrived)
				}
				io.Copy(io.Discard, p.sink)
			})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ch := copyAsync(ctx, s, p.dst, m.make(p.src, 1000), 1000)
			awaitSignal(t, "silent-src", "bytes at the sink", arrived)
			cancel()
			r := await(t, "silent-src", ch)
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("silent-src: Copy error = %v; want one wrapping context.Canceled", r.err)
			}
			if r.n != int64(len(hello)) {
				t.Errorf("silent-src: Copy returned %d bytes; want %d", r.n, len(hello))
			}
		})

		t.Run("stuck-dst/src="+m.name, func(t *testing.T) {
			// The client stops reading: once the socket buffers are
			// full, Copy blocks in Write (or splice) until cancelled.
			p := newSockPair(t)
			p.goFeedForever()
			arrived := make(chan struct{})
			p.wg.Go(func() {
				if _, err := p.sink.Read(make([]byte, 1)); err == nil {
					close(arrived)
				}
			})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ch := copyAsync(ctx, s, p.dst, m.make(p.src, 1<<40), -1)
			awaitSignal(t, "stuck-dst", "bytes at the sink", arrived)
			cancel()
			r := await(t, "stuck-dst", ch)
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("stuck-dst: Copy error = %v; want one wrapping context.Canceled", r.err)
			}
		})
	}
}
