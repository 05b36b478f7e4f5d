package copy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/sockio"
	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// waitDeadline bounds every wait in these tests; none sleeps.
const waitDeadline = 20 * time.Second

// wrapped is a listener's bookkeeping wrapper (sockio.Wrapper), as
// cmd/sockproxy's tracked connections: it hides the socket's type.
type wrapped struct{ net.Conn }

func (w wrapped) UnwrapConn() net.Conn { return w.Conn }

// TestWaitReadable: WaitReadable waits on a socket (sockio.WaitConn)
// under an *io.LimitedReader and under connection wrappers, and leaves the
// byte for the Read; an exhausted *io.LimitedReader needs no wait, and a
// reader with no way to wait says so at once.
func TestWaitReadable(t *testing.T) {
	a, b := testsock.UnixPair(t)
	done := make(chan error, 1)
	go func() { done <- bodycopy.WaitReadable(io.LimitReader(wrapped{wrapped{a}}, 10)) }()
	b.Write([]byte("x"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitReadable after a byte: got %v; want nil", err)
		}
	case <-time.After(waitDeadline):
		t.Fatal("WaitReadable did not return after a byte arrived")
	}
	p := make([]byte, 8)
	if n, err := a.Read(p); n != 1 || p[0] != 'x' {
		t.Fatalf("Read after the wait: got %q, %v; want %q (the wait must not consume it)", p[:n], err, "x")
	}
	if err := bodycopy.WaitReadable(io.LimitReader(a, 0)); err != nil {
		t.Errorf("WaitReadable(an exhausted LimitedReader): got %v; want nil", err)
	}
	if err := bodycopy.WaitReadable(strings.NewReader("x")); !errors.Is(err, bodycopy.ErrCannotWait) {
		t.Errorf("WaitReadable(*strings.Reader): got %v; want ErrCannotWait", err)
	}
}

// eventSource is a ReadWaiter that yields short pieces and logs each call,
// so that a test can see whether a strategy waited before each Read. It
// has no WriteTo, and Close ends a wait.
type eventSource struct {
	mu     sync.Mutex
	pieces []string
	log    []string
	closed chan struct{}
	block  bool // WaitReadable and Read block until Close
}

func (s *eventSource) WaitReadable() error {
	s.mu.Lock()
	s.log = append(s.log, "wait")
	block := s.block
	s.mu.Unlock()
	if block {
		<-s.closed
		return net.ErrClosed
	}
	return nil
}

func (s *eventSource) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, "read")
	if s.block {
		s.mu.Unlock()
		<-s.closed
		s.mu.Lock()
		return 0, net.ErrClosed
	}
	select {
	case <-s.closed:
		return 0, net.ErrClosed
	default:
	}
	if len(s.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.pieces[0])
	s.pieces = s.pieces[1:]
	return n, nil
}

func (s *eventSource) Close() error {
	close(s.closed)
	return nil
}

// TestWaitBeforeBuffer copies a stream of short events from a ReadWaiter:
// pooled and readerfrom wait before every Read (each Read is short, so
// each drains the source), alloc before its first only; a known size
// never waits.
func TestWaitBeforeBuffer(t *testing.T) {
	events := []string{"event 1\n", "event 2\n", "event 3\n"}
	each := "wait read wait read wait read wait read"
	for _, tc := range []struct {
		s    bodycopy.Strategy
		size int64
		want string
	}{
		{bodycopy.Pooled, -1, each},
		{bodycopy.ReaderFrom, -1, each},
		{bodycopy.Alloc, -1, "wait read read read read"},
		{bodycopy.Pooled, 24, "read read read read"},
		{bodycopy.Alloc, 24, "read read read read"},
	} {
		src := &eventSource{pieces: append([]string(nil), events...), closed: make(chan struct{})}
		var dst bytes.Buffer
		n, err := tc.s.Copy(context.Background(), struct{ io.Writer }{&dst}, src, tc.size)
		if err != nil || n != 24 || dst.String() != strings.Join(events, "") {
			t.Errorf("%s size %d: got %d, %v, %q; want 24, nil, the events", tc.s.Name(), tc.size, n, err, dst.String())
		}
		if got := strings.Join(src.log, " "); got != tc.want {
			t.Errorf("%s size %d: calls %q; want %q", tc.s.Name(), tc.size, got, tc.want)
		}
	}
}

// TestWaitCancel cancels copies blocked in WaitReadable: cancellation
// closes the source, which ends the wait, and Copy returns the context's
// error.
func TestWaitCancel(t *testing.T) {
	for _, name := range bodycopy.Names() {
		s, _ := bodycopy.Lookup(name)
		src := &eventSource{closed: make(chan struct{}), block: true}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.Copy(ctx, io.Discard, src, -1)
			done <- err
		}()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: got %v; want an error wrapping context.Canceled", name, err)
			}
		case <-time.After(waitDeadline):
			t.Fatalf("%s: Copy did not return after cancel", name)
		}
	}
}

// peekingConn is a wrapped socket that records, at each Read, whether
// bytes (or the end) were already pending: a copy that waits before it
// takes a buffer reads only then.
type peekingConn struct {
	wrapped
	mu      sync.Mutex
	pending []bool
}

func (c *peekingConn) Read(p []byte) (int, error) {
	ready := sockio.Readable(c.Conn.(*net.UnixConn))
	c.mu.Lock()
	c.pending = append(c.pending, ready)
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// awaitIdle waits until the goroutine running fn (named by its function,
// such as "TestWaitBehindWrapper.func") is parked in the network poller:
// the copy has reached its wait, or (holding a buffer) its Read, on an
// idle source.
func awaitIdle(t *testing.T, fn string) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "[IO wait") && strings.Contains(g, fn) {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("the copy did not park in the network poller")
}

// TestWaitBehindWrapper copies an idle stream whose source is a socket
// behind a connection wrapper (a hijacked client connection of
// cmd/sockproxy): the strategies that hold no buffer while a stream is
// idle must wait before every Read there too, as they do on the bare
// socket. Each message is sent only once the copy is parked on the idle
// source; a strategy that held a buffer would be parked in a Read that
// found nothing pending.
func TestWaitBehindWrapper(t *testing.T) {
	for _, s := range []bodycopy.Strategy{bodycopy.Pooled, bodycopy.ReaderFrom, bodycopy.Splice, bodycopy.SpliceChunked} {
		t.Run("strategy="+s.Name(), func(t *testing.T) {
			a, b := testsock.UnixPair(t)
			src := &peekingConn{wrapped: wrapped{a}}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				_, err := s.Copy(context.Background(), struct{ io.Writer }{pw}, src, -1)
				pw.CloseWithError(err)
				done <- err
			}()
			msgs := []string{"event 1\n", "event 2\n", "event 3\n"}
			got := make([]byte, 64)
			for _, m := range msgs {
				awaitIdle(t, "TestWaitBehindWrapper.func")
				if _, err := io.WriteString(b, m); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(pr, got[:len(m)]); err != nil || string(got[:len(m)]) != m {
					t.Fatalf("after sending %q: got %q, %v", m, got[:len(m)], err)
				}
			}
			awaitIdle(t, "TestWaitBehindWrapper.func")
			b.Close()
			if _, err := io.ReadAll(pr); err != nil {
				t.Fatalf("copy: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("copy: %v", err)
			}
			src.mu.Lock()
			defer src.mu.Unlock()
			for i, ready := range src.pending {
				if !ready {
					t.Errorf("Read %d of %d: nothing pending; want every Read after a wait (pending %v)", i+1, len(src.pending), src.pending)
					break
				}
			}
		})
	}
}
