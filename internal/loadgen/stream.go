package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// DefaultEvery is the events scenario's interval between events when
// Config.Every is 0.
const DefaultEvery = time.Millisecond

// eventsCount is the events per stream; a worker opens the next stream
// when one ends.
const eventsCount = 1000

// eventsScenario reads GET /events?every=DUR&count=N streams; each event is
// one operation whose latency is its receipt time minus the timeNano it
// carries (sender and receiver share the host clock).
type eventsScenario struct {
	e     *env
	every time.Duration
	count int
}

func (s *eventsScenario) NewConn(int) Conn { return &eventsConn{s: s} }

type eventsConn struct {
	s    *eventsScenario
	body io.ReadCloser
	br   *bufio.Reader
}

func (c *eventsConn) open(ctx context.Context) error {
	path := "/events?every=" + c.s.every.String() + "&count=" + strconv.Itoa(c.s.count)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.s.e.target.Base+path, nil)
	if err != nil {
		return &Error{Kind: KindConnect, Err: err}
	}
	resp, err := c.s.e.client.Do(req)
	if err != nil {
		return &Error{Kind: KindOf(err), Err: fmt.Errorf("GET %s: %w", path, err)}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return &Error{Kind: KindStatus, Err: fmt.Errorf("GET %s: status %s", path, resp.Status)}
	}
	c.body = resp.Body
	if c.br == nil {
		c.br = bufio.NewReaderSize(resp.Body, 4096)
	} else {
		c.br.Reset(resp.Body)
	}
	return nil
}

func (c *eventsConn) Do(ctx context.Context) Outcome {
	for range 2 { // a stream that just ended is replaced once
		if c.body == nil {
			if err := c.open(ctx); err != nil {
				return Outcome{Err: err}
			}
		}
		line, err := c.br.ReadSlice('\n')
		now := time.Now()
		if err == io.EOF && len(line) == 0 {
			c.Close()
			continue
		}
		if err != nil {
			c.Close()
			return Outcome{Err: &Error{Kind: KindOf(err), Err: fmt.Errorf("read event: %w", err)}}
		}
		sent, ok := timeNano(line)
		if !ok {
			c.Close()
			return Outcome{Err: &Error{Kind: KindRead, Err: fmt.Errorf("event without timeNano: %.80q", line)}}
		}
		lat := now.Sub(time.Unix(0, sent))
		if lat <= 0 {
			lat = 1 // clocks agree to within the resolution: count as the floor
		}
		return Outcome{Bytes: int64(len(line)), Latency: lat}
	}
	return Outcome{Err: &Error{Kind: KindRead, Err: errors.New("read event: stream ended with no event")}}
}

func (c *eventsConn) Close() error {
	if c.body == nil {
		return nil
	}
	err := c.body.Close()
	c.body = nil
	return err
}

var timeNanoKey = []byte(`"timeNano":`)

// timeNano extracts the integer after "timeNano": without decoding the JSON.
func timeNano(line []byte) (int64, bool) {
	i := bytes.Index(line, timeNanoKey)
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(line[i+len(timeNanoKey):], " ")
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}

// attachScenario upgrades POST /containers/x/attach to a raw stream, then
// each operation writes size bytes of stdin and reads them back as stdout
// frames (8-byte header: stream, 0, 0, 0, big-endian uint32 length).
type attachScenario struct {
	e    *env
	size int
}

func (s *attachScenario) NewConn(int) Conn {
	p := make([]byte, s.size)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return &attachConn{s: s, payload: p, got: make([]byte, s.size)}
}

type attachConn struct {
	s       *attachScenario
	conn    net.Conn
	br      *bufio.Reader
	payload []byte
	got     []byte
	hdr     [8]byte
	stop    func() bool // unregisters the cancellation hook
}

const attachRequest = "POST /containers/x/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n" +
	"Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"

func (c *attachConn) open(ctx context.Context) error {
	conn, err := c.s.e.target.Dial(ctx)
	if err != nil {
		return &Error{Kind: KindConnect, Err: err}
	}
	// Cancelling the run unblocks a worker stuck in Read or Write.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) error {
		stop()
		conn.Close()
		return err
	}
	conn.SetDeadline(time.Now().Add(c.s.e.timeout))
	if _, err := io.WriteString(conn, attachRequest); err != nil {
		return fail(&Error{Kind: KindOf(err), Err: fmt.Errorf("attach: write request: %w", err)})
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fail(&Error{Kind: KindOf(err), Err: fmt.Errorf("attach: read response: %w", err)})
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fail(&Error{Kind: KindStatus, Err: fmt.Errorf("attach: status %s; want 101", resp.Status)})
	}
	c.conn, c.br, c.stop = conn, br, stop
	return nil
}

func (c *attachConn) Do(ctx context.Context) Outcome {
	if c.conn == nil {
		if err := c.open(ctx); err != nil {
			return Outcome{Err: err}
		}
	}
	c.conn.SetDeadline(time.Now().Add(c.s.e.timeout))
	if _, err := c.conn.Write(c.payload); err != nil {
		c.abort()
		return Outcome{Err: &Error{Kind: KindOf(err), Err: fmt.Errorf("attach: write stdin: %w", err)}}
	}
	n := 0
	for n < len(c.payload) {
		if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
			c.abort()
			return Outcome{Bytes: int64(n), Err: &Error{Kind: KindOf(err), Err: fmt.Errorf("attach: read frame header after %d bytes: %w", n, err)}}
		}
		size := int(binary.BigEndian.Uint32(c.hdr[4:]))
		if c.hdr[0] != 1 || size > len(c.payload)-n {
			c.abort()
			return Outcome{Bytes: int64(n), Err: &Error{Kind: KindRead, Err: fmt.Errorf("attach: frame stream %d length %d after %d of %d bytes", c.hdr[0], size, n, len(c.payload))}}
		}
		if _, err := io.ReadFull(c.br, c.got[n:n+size]); err != nil {
			c.abort()
			return Outcome{Bytes: int64(n), Err: &Error{Kind: KindOf(err), Err: fmt.Errorf("attach: read frame body: %w", err)}}
		}
		n += size
	}
	if !bytes.Equal(c.got, c.payload) {
		c.abort()
		return Outcome{Bytes: int64(n), Err: &Error{Kind: KindRead, Err: errors.New("attach: echo differs from what was sent")}}
	}
	return Outcome{Bytes: int64(n)}
}

func (c *attachConn) abort() {
	if c.conn != nil {
		c.stop()
		c.conn.Close()
		c.conn = nil
	}
}

// Close half-closes stdin, as docker attach does at EOF, reads the final
// frames until the upstream closes, and closes the connection.
func (c *attachConn) Close() error {
	if c.conn == nil {
		return nil
	}
	defer c.abort()
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		if err := cw.CloseWrite(); err != nil {
			return fmt.Errorf("attach: close stdin: %w", err)
		}
		c.conn.SetDeadline(time.Now().Add(time.Second))
		if _, err := io.Copy(io.Discard, c.br); err != nil {
			return fmt.Errorf("attach: read to end: %w", err)
		}
	}
	return nil
}
