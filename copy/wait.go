package copy

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"unsafe"
)

// ReadWaiter is a source that can wait for its next bytes without a
// buffer. A strategy copying a stream (size -1) calls WaitReadable before it
// takes a buffer, so that a stream that stays idle (Docker's events, an
// attached shell, logs with -f) pins no copy buffer while it waits.
type ReadWaiter interface {
	// WaitReadable blocks until a Read would not block: bytes, the end of
	// the stream or an error are pending, or the source was closed. It
	// reads nothing. It returns nil when a Read would not block, or an
	// error when it could not wait; either way the caller goes on to Read,
	// which reports the source's state. It must return when the source is
	// closed (a copy's cancellation closes it).
	WaitReadable() error
}

// ErrCannotWait is WaitReadable's answer for a reader that offers no way
// to wait without reading.
var ErrCannotWait = errors.New("copy: reader cannot wait for readability")

// WaitReadable blocks, holding no buffer, until a Read of r would not
// block. r can wait when it is a [ReadWaiter], or a *net.TCPConn or
// *net.UnixConn (each alone or under an *io.LimitedReader), which wait in
// the runtime's network poller with a one-byte MSG_PEEK probe ([WaitConn]);
// any other r returns [ErrCannotWait] at once. A wait that fails returns
// its error; the caller should Read anyway, and let the Read report it.
func WaitReadable(r io.Reader) error {
	if lr, ok := r.(*io.LimitedReader); ok {
		if lr.N <= 0 {
			return nil // Read returns io.EOF at once
		}
		r = lr.R
	}
	switch r := r.(type) {
	case ReadWaiter:
		return r.WaitReadable()
	case *net.TCPConn:
		return WaitConn(r)
	case *net.UnixConn:
		return WaitConn(r)
	}
	return ErrCannotWait
}

// canWait reports whether WaitReadable(r) can wait, without waiting.
func canWait(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	switch r.(type) {
	case ReadWaiter, *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// WaitConn blocks until the stream socket c has bytes or its end pending,
// or fails (it is closed, or its read deadline passed). It probes with a
// non-blocking one-byte recv(MSG_PEEK), which leaves the byte for the next
// Read, and waits in the network poller between probes: an idle
// connection costs its goroutine and nothing else. Each wait that blocks
// costs two probes; data already pending costs one.
func WaitConn(c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	p := probers.Get().(*prober)
	err = rc.Read(p.probe)
	probers.Put(p)
	return err
}

// Readable reports, without blocking, whether the stream socket c has
// bytes or its end (or an error) pending: whether a Read would return at
// once. It reads nothing (a one-byte recv(MSG_PEEK|MSG_DONTWAIT)). A
// socket it cannot probe counts as readable, so that the caller goes on to
// Read and lets the Read report it.
func Readable(c syscall.Conn) bool {
	ready, _ := probeOnce(c)
	return ready
}

// Ended reports, without blocking or reading, whether the stream socket c
// has reached its end: the peer closed (or half-closed) its side, or the
// socket failed. Bytes pending, or nothing yet, are no end. A socket it
// cannot probe counts as ended.
func Ended(c syscall.Conn) bool {
	_, ended := probeOnce(c)
	return ended
}

// Probe is [Readable] for one socket probed again and again, allocating
// nothing after [NewProbe]: for a connection pool that checks each idle
// connection before it reuses it. A Probe is used by one goroutine at a
// time.
type Probe struct {
	rc syscall.RawConn
	p  prober
}

// NewProbe returns a Probe of the stream socket c.
func NewProbe(c syscall.Conn) (*Probe, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	pr := &Probe{rc: rc}
	pr.p.once = pr.p.peekOnce
	return pr, nil
}

// Readable reports what [Readable] does for the probed socket.
func (p *Probe) Readable() bool {
	ready, _ := p.p.probeRaw(p.rc)
	return ready
}

// probeOnce probes c once without waiting: is something pending, and is
// it the end (or an error)?
func probeOnce(c syscall.Conn) (ready, ended bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return true, true
	}
	p := probers.Get().(*prober)
	ready, ended = p.probeRaw(rc)
	probers.Put(p)
	return ready, ended
}

// probeRaw probes rc once without waiting; a socket it cannot probe
// counts as ready and ended (see Readable and Ended).
func (p *prober) probeRaw(rc syscall.RawConn) (ready, ended bool) {
	if err := rc.Read(p.once); err != nil {
		return true, true
	}
	return p.ready, p.ended
}

// prober is WaitConn's probe with its one-byte buffer; probe is bound
// once, so that a wait allocates nothing but SyscallConn's handle.
type prober struct {
	b     [1]byte
	probe func(fd uintptr) bool
	once  func(fd uintptr) bool // Readable's and Ended's: one probe, no wait
	ready bool                  // once's answer: something is pending
	ended bool                  // once's answer: the end or an error is
}

var probers = sync.Pool{New: func() any {
	p := new(prober)
	p.probe = p.peek
	p.once = p.peekOnce
	return p
}}

// peek reports whether fd has a byte or its end (or an error) pending:
// false means nothing yet, and the poller waits before the next probe.
func (p *prober) peek(fd uintptr) bool {
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			p.ended = false
			return false
		}
		p.ended = e != 0 || n == 0
		return true // a byte, the end (0) or an error: Read will tell
	}
}

// peekOnce records in p.ready whether fd has a byte or its end pending,
// and in p.ended whether that is its end; it never asks the poller to
// wait.
func (p *prober) peekOnce(fd uintptr) bool {
	p.ready = p.peek(fd)
	return true
}

// idleDrained is the Read size below which idleCopy takes a source as
// drained: its next Read may block for long.
const idleDrained = 4 << 10

// idleCopy copies a stream from a src that can wait (canWait) through
// buffers of pooledPool class c, holding one only while src has bytes: it
// waits before taking a buffer, and returns the buffer after a Read of
// less than idleDrained bytes. Errors are labelled as copyBuffer's.
func idleCopy(dst io.Writer, src io.Reader, c int) (int64, error) {
	var written int64
	for {
		WaitReadable(src) // an error is the Read's to report
		b := pooledPool.get(c)
		for {
			nr, rerr := src.Read(*b)
			if nr > 0 {
				nw, werr := write(dst, (*b)[:nr])
				written += int64(nw)
				if werr != nil {
					pooledPool.put(c, b)
					return written, werr
				}
			}
			if rerr == io.EOF {
				pooledPool.put(c, b)
				return written, nil
			}
			if rerr != nil {
				pooledPool.put(c, b)
				return written, readErr(rerr)
			}
			if nr < idleDrained {
				break
			}
		}
		pooledPool.put(c, b)
	}
}
