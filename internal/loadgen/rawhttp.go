package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is the lean HTTP/1.1 client of the HTTP scenarios: one keep-alive
// connection per worker, requests pre-rendered once, responses parsed in
// place from one 64 KiB bufio.Reader and bodies skipped with Discard. No
// goroutines, no per-request allocation: net/http's client costs about
// three times more CPU per request (see the package doc), which on a small
// machine is taken from the server being measured.
type rawConn struct {
	e        *env
	reqs     []httpReq
	rendered [][]byte
	next     int

	conn     net.Conn
	br       *bufio.Reader
	long     []byte // the head of a line longer than br's buffer
	deadline time.Time
	stop     func() bool // unregisters the cancellation hook
}

func newRawConn(e *env, reqs []httpReq, worker int) *rawConn {
	c := &rawConn{e: e, reqs: reqs, next: worker % len(reqs)}
	host := e.target.Base[len("http://"):]
	for _, r := range reqs {
		c.rendered = append(c.rendered, []byte("GET "+r.path+" HTTP/1.1\r\nHost: "+host+
			"\r\nUser-Agent: sockproxy-loadgen\r\n\r\n"))
	}
	return c
}

func (c *rawConn) Do(ctx context.Context) Outcome {
	i := c.next
	c.next = (c.next + 1) % len(c.reqs)
	n, err := c.roundTrip(ctx, i)
	if err != nil {
		// After a bad status the response was read in full and the
		// connection can go on; after anything else its state is
		// unknown: start afresh.
		if KindOf(err) != KindStatus {
			c.Close()
		}
		return Outcome{Bytes: n, Err: err}
	}
	return Outcome{Bytes: n}
}

func (c *rawConn) dial(ctx context.Context) error {
	conn, err := c.e.target.Dial(ctx)
	if err != nil {
		return &Error{Kind: KindConnect, Err: err}
	}
	c.conn = conn
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 64<<10)
	} else {
		c.br.Reset(conn)
	}
	c.deadline = time.Time{}
	// Cancelling the run unblocks a worker stuck in Read or Write.
	c.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return nil
}

func (c *rawConn) roundTrip(ctx context.Context, i int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return 0, err
		}
	}
	// Refreshing the deadline costs a timer update; do it only when half
	// of the timeout has gone.
	if now := time.Now(); c.deadline.Sub(now) < c.e.timeout/2 {
		c.deadline = now.Add(c.e.timeout)
		c.conn.SetDeadline(c.deadline)
	}
	path := c.reqs[i].path
	if _, err := c.conn.Write(c.rendered[i]); err != nil {
		return 0, &Error{Kind: KindOf(err), Err: fmt.Errorf("GET %s: write request: %w", path, err)}
	}
	status, length, chunked, closing, err := c.readHeader()
	if err != nil {
		return 0, &Error{Kind: KindOf(err), Err: fmt.Errorf("GET %s: read response header: %w", path, err)}
	}
	var n int64
	switch {
	case chunked:
		n, err = c.discardChunked()
	case length >= 0:
		var m int
		m, err = c.br.Discard(int(length))
		n = int64(m)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	default: // the body ends when the connection does
		n, err = c.discardToEOF()
		closing = true
	}
	if closing {
		c.Close()
	}
	if err != nil {
		return n, &Error{Kind: KindOf(err), Err: fmt.Errorf("GET %s: read body after %d bytes: %w", path, n, err)}
	}
	if status != 200 {
		return n, &Error{Kind: KindStatus, Err: fmt.Errorf("GET %s: status %d", path, status)}
	}
	if want := c.reqs[i].want; want >= 0 && n != want {
		return n, &Error{Kind: KindRead, Err: fmt.Errorf("GET %s: body has %d bytes; want %d", path, n, want)}
	}
	return n, nil
}

var (
	hdrContentLength    = []byte("content-length:")
	hdrTransferEncoding = []byte("transfer-encoding:")
	hdrConnection       = []byte("connection:")
)

// readHeader parses the status line and the headers that frame the body.
// length is -1 when there is no Content-Length.
func (c *rawConn) readHeader() (status int, length int64, chunked, closing bool, err error) {
	length = -1
	line, err := c.readLine()
	if err != nil {
		return 0, 0, false, false, eofIsUnexpected(err)
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, false, fmt.Errorf("malformed status line %.40q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, false, fmt.Errorf("malformed status line %.40q", line)
	}
	closing = line[7] == '0' // HTTP/1.0
	for {
		line, err = c.readLine()
		if err != nil {
			return 0, 0, false, false, eofIsUnexpected(err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return status, length, chunked, closing, nil
		}
		switch {
		case hasPrefixFold(line, hdrContentLength):
			length, err = strconv.ParseInt(string(bytes.TrimSpace(line[len(hdrContentLength):])), 10, 64)
			if err != nil || length < 0 {
				return 0, 0, false, false, fmt.Errorf("malformed header %.60q", line)
			}
		case hasPrefixFold(line, hdrTransferEncoding):
			chunked = bytes.Contains(bytes.ToLower(line), []byte("chunked"))
		case hasPrefixFold(line, hdrConnection):
			closing = closing || bytes.Contains(bytes.ToLower(line), []byte("close"))
		}
	}
}

// maxLine is how much of a line longer than the read buffer is kept: plenty
// for a status line, a framing header or a chunk size; the rest is skipped.
const maxLine = 256

// readLine is ReadSlice('\n') for lines of any length: the line, valid
// until the next read, or its first maxLine bytes when it does not fit in
// the buffer.
func (c *rawConn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	c.long = append(c.long[:0], line[:min(len(line), maxLine)]...)
	for err == bufio.ErrBufferFull {
		line, err = c.br.ReadSlice('\n')
		c.long = append(c.long, line[:min(len(line), maxLine-len(c.long))]...)
	}
	return c.long, err
}

func hasPrefixFold(s, prefix []byte) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], prefix)
}

// discardChunked skips a chunked body, counting its data bytes, and checks
// its framing (a body cut short is an error, never a short success).
func (c *rawConn) discardChunked() (int64, error) {
	var n int64
	for {
		line, err := c.readLine()
		if err != nil {
			return n, eofIsUnexpected(err)
		}
		hex := bytes.TrimRight(line, "\r\n")
		if j := bytes.IndexByte(hex, ';'); j >= 0 {
			hex = hex[:j]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(hex)), 16, 64)
		if err != nil || size < 0 {
			return n, fmt.Errorf("malformed chunk size %.40q", line)
		}
		if size == 0 {
			for { // trailers, then the empty line
				line, err := c.readLine()
				if err != nil {
					return n, eofIsUnexpected(err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return n, nil
				}
			}
		}
		m, err := c.br.Discard(int(size))
		n += int64(m)
		if err != nil {
			return n, eofIsUnexpected(err)
		}
		if line, err = c.readLine(); err != nil || len(bytes.TrimRight(line, "\r\n")) != 0 {
			if err == nil {
				err = errors.New("chunk not followed by CRLF")
			}
			return n, eofIsUnexpected(err)
		}
	}
}

// discardToEOF skips a close-delimited body (no Content-Length, not
// chunked: what sockproxy's splice-chunked strategy answers an image save
// with): its end is the server's clean close (EOF), so a reset (ECONNRESET)
// or any other read error is an error, never a short success. It reads in
// br's 64 KiB buffer; bufio.Reader.WriteTo(io.Discard) would read 8 KiB at
// a time (io.Discard's ReadFrom buffer), costing this small machine's CPU.
func (c *rawConn) discardToEOF() (int64, error) {
	var n int64
	for {
		m, err := c.br.Discard(c.br.Size())
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (c *rawConn) Close() error {
	if c.conn == nil {
		return nil
	}
	c.stop()
	err := c.conn.Close()
	c.conn = nil
	return err
}
