package copy_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/internal/units"
)

// benchSizes are BenchmarkCopy's body sizes: a ping-sized answer (64B, which
// takes sized's 256-byte array), a small answer, a JSON list,
// one buffer's worth and more, many buffers, an image.
var benchSizes = []int64{64, 512, 1536, 64 << 10, 1 << 20, 64 << 20}

// BenchmarkCopy measures each strategy alone over real sockets, per
// CONTRACT.md: BenchmarkCopy/strategy=S/size=Z. Copy's src is the read end
// of a Unix socket pair, under an *io.LimitedReader of the body's size (as
// a raw transport hands it over), fed by a goroutine that writes Z bytes per
// op from a preset buffer; dst is a TCP connection to a loopback listener
// that discards. The size hint is Z and ctx can be cancelled, as a request's
// can. alloc is the base.
func BenchmarkCopy(b *testing.B) {
	for _, name := range bodycopy.Names() {
		s, err := bodycopy.Lookup(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("strategy="+name, func(b *testing.B) {
			for _, size := range benchSizes {
				b.Run("size="+units.FormatSize(size), func(b *testing.B) {
					benchCopy(b, s, size)
				})
			}
		})
	}
}

func benchCopy(b *testing.B, s bodycopy.Strategy, size int64) {
	src, feed := testsock.UnixPair(b)
	dst := discardConn(b)
	var wg sync.WaitGroup
	ops := make(chan struct{})
	wg.Go(func() { feedLoop(feed, ops, size) })
	defer func() {
		close(ops)
		feed.Close() // unblocks a feed left mid-op by a failed Copy
		wg.Wait()
	}()

	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	lr := &io.LimitedReader{R: src}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		ops <- struct{}{}
		lr.N = size
		n, err := s.Copy(ctx, dst, lr, size)
		if err != nil || n != size {
			b.Fatalf("Copy = %d, %v; want %d, nil", n, err, size)
		}
	}
}

// feedBuf is the preset buffer every feed writes from.
var feedBuf = make([]byte, 1<<20)

// feedLoop writes size bytes to feed for each op, until ops is closed.
func feedLoop(feed net.Conn, ops <-chan struct{}, size int64) {
	for range ops {
		for left := size; left > 0; {
			n, err := feed.Write(feedBuf[:min(left, int64(len(feedBuf)))])
			if err != nil {
				return
			}
			left -= int64(n)
		}
	}
}

// discardConn returns a TCP connection to a loopback listener that reads and
// discards everything; both close when b ends.
func discardConn(b *testing.B) *net.TCPConn {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatalf("dial %s: %v", l.Addr(), err)
	}
	peer, err := l.Accept()
	if err != nil {
		b.Fatalf("accept %s: %v", l.Addr(), err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256<<10)
		for {
			if _, err := peer.Read(buf); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		c.Close()
		peer.Close()
		<-done
	})
	return c.(*net.TCPConn)
}
