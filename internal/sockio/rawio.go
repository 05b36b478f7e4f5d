package sockio

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// RawIO reads and writes a non-blocking socket (a *net.TCPConn or
// *net.UnixConn, through its syscall.RawConn) with raw system calls: the
// read or write is tried at once and, when the socket is not ready, the
// network poller waits as it does for the connection's own Read and
// Write, honouring its deadlines and its Close.
//
// The difference is what the Go runtime does around each call. A
// connection's own Read enters the scheduler's system-call state, and on
// a process whose processor was idle between requests that wakes the
// runtime's monitor thread (a futex wake, then its 20 µs sleeps while
// requests run): at a few thousand small requests a second that was
// several system calls per request besides the four that move bytes
// (results/README.md). A read or write on a non-blocking socket never
// blocks, so it needs none of that.
//
// Like the connection, a RawIO may be read and written by several
// goroutines (each Read, each Write, whole). Its Read and Write allocate
// nothing.
type RawIO struct {
	rc syscall.RawConn
	rf io.ReaderFrom // the connection's own ReaderFrom (splice), if any

	rmu    sync.Mutex // one Read at a time, as the connection's own
	rp     []byte     // the Read in progress
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	wmu     sync.Mutex // one Write at a time, as the connection's own
	wp      []byte     // what the Write in progress has left to write
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
}

// NewRawIO returns a RawIO for c, which must be a *net.TCPConn or a
// *net.UnixConn itself (not a wrapper, whose Read and Write a RawIO would
// bypass: unwrap it first with [Unwrap]).
//
// Under the race detector NewRawIO always fails (see rawio_race.go): the
// caller uses the connection itself.
func NewRawIO(c any) (*RawIO, error) {
	if rawIOOff != "" {
		return nil, errors.New(rawIOOff)
	}
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil, fmt.Errorf("sockio: no raw I/O for %T", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &RawIO{rc: rc}
	r.rf, _ = c.(io.ReaderFrom)
	r.readFn = r.read
	r.writeFn = r.write
	return r, nil
}

// Read reads into p as the connection's Read does: io.EOF at the peer's
// end of stream.
func (r *RawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.rp, r.rn, r.rerr = p, 0, 0
	err := r.rc.Read(r.readFn)
	r.rp = nil
	switch {
	case err != nil:
		return 0, err
	case r.rerr != 0:
		return 0, os.NewSyscallError("read", r.rerr)
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

// read is Read's attempt: false asks the poller to wait for readability.
func (r *RawIO) read(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rp[0])), uintptr(len(r.rp)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			r.rn = int(n)
		default:
			r.rerr = e
		}
		return true
	}
}

// Write writes all of p as the connection's Write does.
func (r *RawIO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.wp, r.wn, r.werr = p, 0, 0
	err := r.rc.Write(r.writeFn)
	n := r.wn
	r.wp = nil
	switch {
	case err != nil:
		return n, err
	case r.werr != 0:
		return n, os.NewSyscallError("write", r.werr)
	}
	return n, nil
}

// write is Write's attempt: false asks the poller to wait for
// writability before it goes on.
func (r *RawIO) write(fd uintptr) bool {
	for r.wn < len(r.wp) {
		rest := r.wp[r.wn:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			r.wn += int(n)
		default:
			r.werr = e
			return true
		}
	}
	return true
}

// ReadFrom hands src to the connection's own ReadFrom (where the kernel
// can splice), so that a bufio.Writer over a RawIO keeps that path.
func (r *RawIO) ReadFrom(src io.Reader) (int64, error) {
	if r.rf == nil {
		return io.Copy(struct{ io.Writer }{r}, src)
	}
	return r.rf.ReadFrom(src)
}
