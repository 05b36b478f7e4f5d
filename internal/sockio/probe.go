package sockio

import (
	"sync"
	"syscall"
	"unsafe"
)

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
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.b[0])), 1,
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
