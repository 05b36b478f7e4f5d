package sockio_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/sockio"
	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// waitDeadline bounds every wait in these tests; none sleeps.
const waitDeadline = 20 * time.Second

// waitAsync runs sockio.WaitConn(c) and delivers its result.
func waitAsync(c *net.UnixConn) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- sockio.WaitConn(c) }()
	return ch
}

func awaitWait(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitDeadline):
		t.Fatalf("WaitConn did not return after %s", what)
		return nil
	}
}

// TestWaitConn: a wait ends when a byte arrives (which stays readable),
// when the peer closes (the EOF stays readable), and when the connection
// itself is closed under it (with an error).
func TestWaitConn(t *testing.T) {
	a, b := testsock.UnixPair(t)
	ch := waitAsync(a)
	b.Write([]byte("x"))
	if err := awaitWait(t, "a byte arrived", ch); err != nil {
		t.Fatalf("WaitConn after a byte: got %v; want nil", err)
	}
	p := make([]byte, 8)
	if n, err := a.Read(p); n != 1 || p[0] != 'x' {
		t.Fatalf("Read after the wait: got %q, %v; want %q (the probe must not consume it)", p[:n], err, "x")
	}
	ch = waitAsync(a)
	b.Close()
	if err := awaitWait(t, "the peer closed", ch); err != nil {
		t.Fatalf("WaitConn after the peer closed: got %v; want nil", err)
	}
	if n, err := a.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer closed: got %d, %v; want 0, EOF", n, err)
	}

	c, _ := testsock.UnixPair(t)
	ch = waitAsync(c)
	c.Close()
	if err := awaitWait(t, "its connection was closed", ch); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WaitConn on a closed connection: got %v; want net.ErrClosed", err)
	}
}

// TestReadableEnded walks a socket through nothing pending, a byte
// pending, and its end, asking Readable, Ended and a Probe at each step;
// none of them may consume the byte.
func TestReadableEnded(t *testing.T) {
	a, b := testsock.UnixPair(t)
	probe, err := sockio.NewProbe(a)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, readable, ended bool) {
		t.Helper()
		if got := sockio.Readable(a); got != readable {
			t.Errorf("%s: Readable = %v; want %v", step, got, readable)
		}
		if got := probe.Readable(); got != readable {
			t.Errorf("%s: Probe.Readable = %v; want %v", step, got, readable)
		}
		if got := sockio.Ended(a); got != ended {
			t.Errorf("%s: Ended = %v; want %v", step, got, ended)
		}
	}
	check("idle", false, false)
	b.Write([]byte("x"))
	if err := sockio.WaitConn(a); err != nil {
		t.Fatal(err)
	}
	check("a byte pending", true, false)
	p := make([]byte, 8)
	if n, _ := a.Read(p); n != 1 {
		t.Fatalf("Read after the probes: got %d bytes; want 1 (the probes must not consume it)", n)
	}
	b.CloseWrite()
	if err := sockio.WaitConn(a); err != nil {
		t.Fatal(err)
	}
	check("the peer half-closed", true, true)
	a.Close()
	check("closed", true, true)
}

// TestProbeAllocs: a Probe, once made, allocates nothing per probe.
func TestProbeAllocs(t *testing.T) {
	a, _ := testsock.UnixPair(t)
	probe, err := sockio.NewProbe(a)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { probe.Readable() }); n != 0 {
		t.Errorf("Probe.Readable: %v allocs per probe; want 0", n)
	}
}

// BenchmarkProbe measures one probe of an idle connection: a Probe made
// once, and Readable, which looks the socket up each time.
func BenchmarkProbe(b *testing.B) {
	a, _ := testsock.UnixPair(b)
	b.Run("kind=probe", func(b *testing.B) {
		probe, err := sockio.NewProbe(a)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			probe.Readable()
		}
	})
	b.Run("kind=readable", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sockio.Readable(a)
		}
	})
}
