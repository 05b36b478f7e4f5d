package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// rawIO returns c's RawIO, skipping the test where raw I/O is off.
func rawIO(t *testing.T, c *net.TCPConn) *RawIO {
	t.Helper()
	if rawIOOff != "" {
		t.Skip(rawIOOff)
	}
	r, err := NewRawIO(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRawIO(t *testing.T) {
	a, b := tcpPair(t)
	ra := rawIO(t, a)
	a.SetDeadline(time.Now().Add(time.Minute))
	b.SetDeadline(time.Now().Add(time.Minute))

	// More than the socket buffers hold: the writer waits for the reader.
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	done := make(chan error, 1)
	go func() {
		n, err := ra.Write(want)
		if err == nil && n != len(want) {
			err = errors.New("short write")
		}
		if err == nil {
			err = a.CloseWrite()
		}
		done <- err
	}()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, %v; want the %d written", len(got), err, len(want))
	}
	if err := <-done; err != nil {
		t.Fatalf("Write: %v", err)
	}

	// Reads: bytes, then io.EOF at the peer's end.
	go func() {
		b.Write([]byte("hello"))
		b.CloseWrite()
	}()
	got, err = io.ReadAll(ra)
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadAll = %q, %v; want hello", got, err)
	}
	if n, err := ra.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the end = %d, %v; want io.EOF", n, err)
	}
}

func TestRawIODeadlineAndClose(t *testing.T) {
	a, _ := tcpPair(t)
	ra := rawIO(t, a)
	a.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := ra.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v; want os.ErrDeadlineExceeded", err)
	}
	a.SetReadDeadline(time.Time{})
	a.Close()
	if _, err := ra.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v; want net.ErrClosed", err)
	}
	if _, err := ra.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v; want net.ErrClosed", err)
	}
}

func TestRawIOReset(t *testing.T) {
	a, b := tcpPair(t)
	ra := rawIO(t, a)
	b.SetLinger(0)
	b.Close() // a reset
	a.SetDeadline(time.Now().Add(time.Minute))
	if _, err := ra.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after a reset: %v; want ECONNRESET", err)
	}
}

func TestRawIOWrapped(t *testing.T) {
	a, _ := tcpPair(t)
	if _, err := NewRawIO(struct{ net.Conn }{a}); err == nil {
		t.Fatal("NewRawIO of a wrapper: no error; want one (it would bypass the wrapper)")
	}
}

func TestRawIOAllocs(t *testing.T) {
	a, b := tcpPair(t)
	ra := rawIO(t, a)
	rb := rawIO(t, b)
	p, q := []byte("ping"), make([]byte, 4)
	allocs := testing.AllocsPerRun(100, func() {
		ra.Write(p)
		io.ReadFull(rb, q)
	})
	if allocs != 0 {
		t.Errorf("a Write and a Read allocate %v times; want 0", allocs)
	}
}
