package soak

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// SlowPaths are the requests slow readers make, taken in turn: a chunked
// image save and a Content-Length blob, each of 1 GiB, more than a reader
// at one byte per second takes in any soak (1 GiB is 34 years).
var SlowPaths = []string{"/images/lab/big/get?size=1GiB", "/_lab/blob?size=1GiB"}

// slowReadTimeout bounds each one-byte read of a slow reader, and the
// reading of its response head: a proxy that stops sending for that long
// counts as having broken the connection.
const slowReadTimeout = 30 * time.Second

// maxHeadBytes bounds a slow reader's response head.
const maxHeadBytes = 64 << 10

// SlowReaders holds slow clients open through a proxy: each has sent one
// GET of SlowPaths, read the response head at once and checked it is a
// 200, and reads the body from its socket one byte per tick for as long
// as it is held. A reader whose connection ends, fails or stays silent
// for slowReadTimeout before Close counts as broken.
type SlowReaders struct {
	every   time.Duration
	halt    chan struct{} // closed by Close
	closing sync.Once
	open    atomic.Int64
	wg      sync.WaitGroup
	readers []*slowReader
	mu      sync.Mutex // guards errs
	errs    []error
}

// slowReader is one slow client.
type slowReader struct {
	id   int
	path string
	c    net.Conn
	n    atomic.Int64 // body bytes read, as they came on the wire (chunk framing included)
}

// OpenSlow opens n slow readers to the HTTP server at addr (host:port),
// all at once, each reading one body byte per every, and waits until each
// has its response head. It fails, with nothing left open, if any reader
// fails to get a 200.
func OpenSlow(ctx context.Context, addr string, n int, every time.Duration) (*SlowReaders, error) {
	if every <= 0 {
		return nil, fmt.Errorf("soak: slow readers need a positive pace, got %s", every)
	}
	s := &SlowReaders{every: every, halt: make(chan struct{})}
	errs := make([]error, n)
	readers := make([]*slowReader, n)
	var opening sync.WaitGroup
	for i := range n {
		opening.Add(1)
		go func() {
			defer opening.Done()
			path := SlowPaths[i%len(SlowPaths)]
			c, err := openSlow(ctx, addr, path)
			if err != nil {
				errs[i] = fmt.Errorf("slow reader %d: %w", i, err)
				return
			}
			readers[i] = &slowReader{id: i, path: path, c: c}
		}()
	}
	opening.Wait()
	for _, r := range readers {
		if r != nil {
			s.readers = append(s.readers, r)
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.Close()
		return nil, fmt.Errorf("soak: %d of %d slow readers via %s failed to open: %w", n-len(s.readers), n, addr, err)
	}
	for _, r := range s.readers {
		s.open.Add(1)
		s.wg.Add(1)
		go s.read(r)
	}
	return s, nil
}

// openSlow sends GET path to addr and reads the response head one byte
// at a time, so that no body byte is read ahead of the pace.
func openSlow(ctx context.Context, addr, path string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.SetDeadline(time.Now().Add(slowReadTimeout))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: docker\r\n\r\n"); err != nil {
		c.Close()
		return nil, fmt.Errorf("GET %s: write to %s: %w", path, addr, err)
	}
	head, err := readHead(c)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("GET %s: read from %s: %w", path, addr, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("GET %s: response from %s: %w", path, addr, err)
	}
	if res.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("GET %s via %s: %s; want 200", path, addr, res.Status)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// readHead reads r up to and including the blank line that ends a
// response head, one byte per read.
func readHead(r io.Reader) ([]byte, error) {
	var head []byte
	var one [1]byte
	for len(head) < maxHeadBytes {
		if _, err := io.ReadFull(r, one[:]); err != nil {
			return head, err
		}
		head = append(head, one[0])
		if bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			return head, nil
		}
	}
	return head, fmt.Errorf("response head longer than %d bytes", maxHeadBytes)
}

// read reads r's body one byte per tick until Close or a failure.
func (s *SlowReaders) read(r *slowReader) {
	defer s.wg.Done()
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	var one [1]byte
	for {
		select {
		case <-s.halt:
			return
		case <-tick.C:
		}
		r.c.SetReadDeadline(time.Now().Add(slowReadTimeout))
		if _, err := r.c.Read(one[:]); err != nil {
			select {
			case <-s.halt: // Close ended the read
				return
			default:
			}
			s.open.Add(-1)
			if err == io.EOF {
				err = errors.New("the proxy closed the connection (EOF)")
			}
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("soak: slow reader %d (GET %s) broke after %d body bytes: read from %s: %w",
				r.id, r.path, r.n.Load(), r.c.RemoteAddr(), err))
			s.mu.Unlock()
			return
		}
		r.n.Add(1)
	}
}

// Count returns how many slow readers are still reading.
func (s *SlowReaders) Count() int64 { return s.open.Load() }

// Bytes returns the body bytes each reader has read so far, in the order
// they were opened.
func (s *SlowReaders) Bytes() []int64 {
	ns := make([]int64, len(s.readers))
	for i, r := range s.readers {
		ns[i] = r.n.Load()
	}
	return ns
}

// Err returns an error naming every reader that broke, or nil.
func (s *SlowReaders) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

// Close stops every reader, closes its connection and waits for it. A
// read ended by Close does not count as broken. Later calls do nothing.
func (s *SlowReaders) Close() {
	s.closing.Do(func() {
		close(s.halt)
		for _, r := range s.readers {
			r.c.SetReadDeadline(time.Now()) // wake a read in progress
		}
		s.wg.Wait()
		for _, r := range s.readers {
			r.c.Close()
		}
	})
}
