package proxy

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// This file is the lean front end's poller: the one goroutine that waits
// for every parked stream (see lean_park.go). A parked connection has no
// goroutine of its own; its client and upstream sockets are registered in
// an epoll instance of the poller's, and the first of them to be readable
// (a chunk from the upstream, the upstream's end, the client's bytes or
// end) starts a goroutine that resumes the connection.
//
// The poller's goroutine waits in the runtime's network poller, not in
// a blocking epoll_wait: its epoll instance is itself a pollable
// descriptor (readable while it has events), wrapped in an *os.File, and
// read with epoll_wait's zero timeout when the runtime says it is ready.
// A wake-up then costs what a socket's does, with no thread handing over
// its P. The sockets stay registered with the runtime too, which does not
// mind: an fd may be in several epoll instances, and the poller's
// registrations are one-shot and level-triggered, so an event the runtime
// consumed is still reported here.

// leanPoller waits in epoll_wait(2) for the parked connections of one
// lean front end. Each parking registers both sockets of a connection
// under a token (never the fd number: a closed fd leaves its
// registration silently, and its number is reused); the map from tokens
// to connections is the truth, and an event whose token is no longer in
// it is stale and ignored. Whoever removes a token from the map removes
// its registrations, before any of its sockets is closed.
type leanPoller struct {
	ep int      // the epoll instance: f's descriptor, used only while it is open (not stopped)
	f  *os.File // ep in the runtime's poller; closing it ends run

	mu      sync.Mutex
	parked  map[uint64]*leanConn
	next    uint64 // the last token given
	stopped bool
	done    chan struct{} // closed when run returns
}

// leanPollEvents is what a parked connection's sockets are watched for:
// bytes or the end (EPOLLRDHUP: a half-close; EPOLLHUP and EPOLLERR are
// always reported), once.
const leanPollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// newLeanPoller makes the epoll instance and starts its goroutine.
func newLeanPoller() (*leanPoller, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("proxy: lean poller: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(ep, true); err != nil {
		syscall.Close(ep)
		return nil, fmt.Errorf("proxy: lean poller: epoll fd: %w", err)
	}
	f := os.NewFile(uintptr(ep), "lean-poller-epoll") // non-blocking: in the runtime's poller
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("proxy: lean poller: epoll fd: %w", err)
	}
	p := &leanPoller{ep: ep, f: f, parked: map[uint64]*leanConn{}, done: make(chan struct{})}
	go p.run(rc)
	return p, nil
}

// errPollerStopped is add's failure once the poller has stopped.
var errPollerStopped = errors.New("proxy: lean poller stopped")

// add registers lc, whose sockets are lc.pfd, as parked. On success the
// poller owns lc: the caller must not touch it again (a goroutine may
// already be resuming it). On failure nothing is registered.
func (p *leanPoller) add(lc *leanConn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errPollerStopped
	}
	p.next++
	tok := p.next
	ev := syscall.EpollEvent{Events: leanPollEvents, Fd: int32(uint32(tok)), Pad: int32(uint32(tok >> 32))}
	for i, fd := range lc.pfd {
		if err := syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			for _, fd := range lc.pfd[:i] {
				syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_DEL, fd, nil)
			}
			return fmt.Errorf("proxy: lean poller: epoll_ctl add fd %d: %w", fd, err)
		}
	}
	p.parked[tok] = lc
	return nil
}

// takeLocked removes the connection of tok, if still parked, and its
// registrations.
func (p *leanPoller) takeLocked(tok uint64) *leanConn {
	lc := p.parked[tok]
	if lc == nil {
		return nil
	}
	delete(p.parked, tok)
	for _, fd := range lc.pfd {
		syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_DEL, fd, nil)
	}
	return lc
}

// run waits for events and resumes their connections, each on a goroutine
// of its own, until the poller's file is closed (or the wait fails, which
// stops the poller and resumes every parked connection: they then wait as
// unparked ones).
func (p *leanPoller) run(rc syscall.RawConn) {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 64)
	var n int
	var werr error
	wait := func(fd uintptr) bool {
		// A raw system call: with a zero timeout it cannot block, and a
		// scheduled one (syscall.EpollWait) wakes the runtime's monitor
		// thread on a process that idled until this event.
		r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, fd, uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		n, werr = int(r), nil
		switch {
		case e == syscall.EINTR:
			n = 0
		case e != 0:
			n, werr = 0, e
		}
		return werr != nil || n > 0 // nothing yet: the runtime waits for the fd to be readable
	}
	for {
		err := rc.Read(wait)
		if err == nil {
			err = werr
		}
		if err != nil {
			// Closed by shutdown (after stop: nothing is parked), or
			// failed (the file could not be polled, epoll_wait failed).
			for _, lc := range p.stop() {
				go lc.resume()
			}
			return
		}
		for _, ev := range events[:n] {
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			lc := p.takeLocked(tok)
			p.mu.Unlock()
			if lc != nil {
				go lc.resume()
			}
		}
	}
}

// stop stops taking connections and returns the parked ones, removed: the
// caller owns them. shutdown then ends the goroutine.
func (p *leanPoller) stop() []*leanConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	var out []*leanConn
	for tok := range p.parked {
		out = append(out, p.takeLocked(tok))
	}
	return out
}

// shutdown ends the poller's goroutine and closes the epoll instance,
// after stop.
func (p *leanPoller) shutdown() {
	p.f.Close() // run's wait returns
	<-p.done
}
