package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/sockproxylab/sockproxy/internal/upstream"
)

// uploadScenario POSTs the simulator's content of size bytes to
// /images/load, as docker load does, with a Content-Length or, chunked,
// without one (net/http's client then sends 32 KiB chunks, as it does for
// docker load's file). The path asks the simulator to compare the body with
// its content and length (check=content&size=N), so a body cut short or
// garbled on the way answers 400 and counts as a status error.
type uploadScenario struct {
	e       *env
	size    int64
	chunked bool
}

func (s *uploadScenario) NewConn(int) Conn {
	return &uploadConn{s: s, path: "/images/load?check=content&size=" + strconv.FormatInt(s.size, 10), buf: make([]byte, 4096)}
}

type uploadConn struct {
	s    *uploadScenario
	path string
	buf  []byte
}

func (c *uploadConn) Do(ctx context.Context) Outcome {
	var body io.Reader = upstream.Content(c.s.size)
	if c.s.chunked {
		body = struct{ io.Reader }{body} // no length, no WriterTo: 32 KiB chunks
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.e.target.Base+c.path, body)
	if err != nil {
		return Outcome{Err: &Error{Kind: KindConnect, Err: err}}
	}
	req.Header.Set("Content-Type", "application/x-tar")
	if !c.s.chunked {
		req.ContentLength = c.s.size
	}
	resp, err := c.s.e.client.Do(req)
	if err != nil {
		return Outcome{Err: &Error{Kind: KindOf(err), Err: fmt.Errorf("POST %s: %w", c.path, err)}}
	}
	n, rerr := io.ReadFull(resp.Body, c.buf)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Outcome{Err: &Error{Kind: KindStatus, Err: fmt.Errorf("POST %s: status %s: %.200q", c.path, resp.Status, c.buf[:n])}}
	}
	if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
		return Outcome{Err: &Error{Kind: KindOf(rerr), Err: fmt.Errorf("POST %s: read answer: %w", c.path, rerr)}}
	}
	return Outcome{Bytes: c.s.size}
}

func (c *uploadConn) Close() error { return nil }
