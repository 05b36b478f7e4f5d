package proxy

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// This file is the lean front end's poller: the one goroutine that waits
// for every parked stream (see lean_park.go). A parked connection has no
// goroutine of its own; its client and upstream sockets are registered in
// an epoll instance of the poller's, and the first of them to be readable
// (a chunk from the upstream, the upstream's end, the client's bytes or
// end) starts a goroutine that resumes the connection.
//
// The runtime's network poller cannot be used for this: a goroutine
// waiting in it (sockio.WaitConn) is what a parked stream does without.
// The sockets stay registered with the runtime too, which does not mind:
// an fd may be in several epoll instances, and the poller's registrations
// are one-shot and level-triggered, so an event the runtime consumed is
// still reported here.

// leanPoller waits in epoll_wait(2) for the parked connections of one
// lean front end. Each parking registers both sockets of a connection
// under a token (never the fd number: a closed fd leaves its
// registration silently, and its number is reused); the map from tokens
// to connections is the truth, and an event whose token is no longer in
// it is stale and ignored. Whoever removes a token from the map removes
// its registrations, before any of its sockets is closed.
type leanPoller struct {
	ep   int    // the epoll instance
	wake [2]int // a pipe: a byte written to wake[1] makes the goroutine look at stopped

	mu      sync.Mutex
	parked  map[uint64]*leanConn
	next    uint64 // the last token given; 0 is the wake pipe's
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
	p := &leanPoller{ep: ep, parked: map[uint64]*leanConn{}, done: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(ep)
		return nil, fmt.Errorf("proxy: lean poller: pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // token 0
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("proxy: lean poller: epoll_ctl: %w", err)
	}
	go p.run()
	return p, nil
}

func (p *leanPoller) closeFDs() {
	syscall.Close(p.ep)
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
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
// of its own, until the poller stops (or epoll_wait fails, which stops it
// and resumes every parked connection: they then wait as unparked ones).
func (p *leanPoller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 64)
	for {
		n, err := syscall.EpollWait(p.ep, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			for _, lc := range p.stop() {
				go lc.resume()
			}
			return
		}
		for _, ev := range events[:n] {
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			if tok == 0 {
				stopped := p.stopped
				p.mu.Unlock()
				if stopped {
					return
				}
				continue
			}
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

// shutdown ends the poller's goroutine and closes its descriptors, after
// stop.
func (p *leanPoller) shutdown() {
	syscall.Write(p.wake[1], []byte{1})
	<-p.done
	p.closeFDs()
}
