package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/sockproxylab/sockproxy/internal/wire"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
)

// serveUpgrade relays a 101 Switching Protocols response and then the
// upgraded stream in both directions.
//
// The client connection is hijacked before anything is written to it, and
// the 101 is written onto the hijacked connection by hand: had the proxy
// answered through the ResponseWriter first, a client that half-closes at
// once (docker run with no stdin) could have its EOF taken by net/http's
// background read and turned into a cancelled request, losing the output.
// Bytes the client sent after its request and that net/http had already
// buffered are forwarded first; bytes the upstream sent after its 101 come
// through the transport's body, which reads its buffer first.
//
// Each direction is copied by the Strategy with size -1 until its source
// ends; a clean end is passed on as a half-close (CloseWrite) while the
// other direction keeps flowing, and the stream ends when both directions
// have. A failure in either direction closes both connections.
func (p *ReverseProxy) serveUpgrade(rw http.ResponseWriter, req *http.Request, res *http.Response, reqUpType string) {
	resUpType, err := checkSwitch(reqUpType, res)
	if err != nil {
		res.Body.Close()
		p.fail(rw, req, err)
		return
	}
	backConn, ok := res.Body.(io.ReadWriteCloser)
	if !ok {
		res.Body.Close()
		p.fail(rw, req, fmt.Errorf("upstream's 101 response body %T is not writable", res.Body))
		return
	}
	defer backConn.Close()

	conn, brw, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			err = fmt.Errorf("cannot switch protocols: %T cannot be hijacked: %w", rw, err)
		} else {
			err = fmt.Errorf("cannot switch protocols: hijack client connection: %w", err)
		}
		p.fail(rw, req, err)
		return
	}
	defer conn.Close()

	h := res.Header.Clone()
	removeHopByHopHeaders(h)
	h.Set("Connection", "Upgrade")
	h.Set("Upgrade", resUpType)
	// Written by hand: res.Write would add a Content-Length, which a 1xx
	// response must not carry (RFC 9110 section 8.6).
	status := res.Status
	if status == "" {
		status = "101 Switching Protocols"
	}
	fmt.Fprintf(brw, "HTTP/1.1 %s\r\n", status)
	h.Write(brw)
	brw.WriteString("\r\n")
	// The 101 goes out alone, as dockerd and httputil send it: a client
	// that reads it through a buffer and then takes the bare socket
	// (docker-py) would lose stream bytes that came in the same segment.
	if err := brw.Flush(); err != nil {
		p.logf("proxy: client failed: %s %s: writing 101 response: %v", req.Method, req.URL.RequestURI(), err)
		return
	}
	var backend io.ReadWriteCloser = backConn
	if ub, isRaw := backConn.(*wire.UpgradeBody); isRaw {
		uc, buffered := ub.Stream()
		// The raw transport's connection itself, after the bytes the
		// upstream sent behind its 101.
		if len(buffered) > 0 {
			if _, err := conn.Write(buffered); err != nil {
				p.logf("proxy: client failed: %s %s: writing the stream after the 101: %v", req.Method, req.URL.RequestURI(), err)
				return
			}
		}
		backend = uc
	}

	if se := relayStream(p.strategy(), conn, brw.Reader, backend); se != nil {
		p.logf("proxy: %s failed during upgraded stream: %s %s: %s: %v", se.side, req.Method, req.URL.RequestURI(), se.op, se.err)
	}
}

// relayStream copies both directions of an upgraded stream with strategy
// until both have ended: client's bytes (those already in buffered first)
// to backend, backend's to client, each end passed on as a half-close. It
// outlives any request context of its own: the first failure cancels the
// other direction, which closes both connections, and is returned.
func relayStream(strategy bodycopy.Strategy, client net.Conn, buffered *bufio.Reader, backend io.ReadWriteCloser) *streamError {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 2) // room for both, so neither goroutine leaks
	go upstreamCopier{strategy, backend, client, buffered}.run(ctx, errc)
	go clientCopier{strategy, client, backend}.run(ctx, errc)
	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	se, _ := first.(*streamError)
	return se
}

// checkSwitch returns the protocol a 101 response switches to, or why the
// switch must be refused: never a tunnel the client did not ask for, nor
// one naming no protocol, an invalid one or another than was requested.
func checkSwitch(reqUpType string, res *http.Response) (string, error) {
	resUpType := wire.UpgradeType(res.Header)
	switch {
	case reqUpType == "":
		return "", errors.New("upstream switched protocols, but the request asked for no upgrade")
	case resUpType == "":
		return "", fmt.Errorf("upstream switched protocols without naming one (%q was requested)", reqUpType)
	case !isPrint(resUpType):
		return "", fmt.Errorf("upstream tried to switch to invalid protocol %q", resUpType)
	case !strings.EqualFold(reqUpType, resUpType):
		return "", fmt.Errorf("upstream switched to protocol %q when %q was requested", resUpType, reqUpType)
	}
	return resUpType, nil
}

// streamError is a failed direction of an upgraded stream, or a failed
// body copy (see copyFailure).
type streamError struct {
	side string // who failed: "client", "upstream" or "copy"
	op   string // what failed, such as "reading client"
	err  error
}

func (e *streamError) Error() string { return e.side + ": " + e.op + ": " + e.err.Error() }

// upstreamCopier copies the client's bytes to the upstream: first those
// net/http had buffered at hijack time, then the connection's. At the
// client's EOF it half-closes the upstream.
type upstreamCopier struct {
	strategy bodycopy.Strategy
	backend  io.ReadWriteCloser
	client   net.Conn
	buffered *bufio.Reader
}

func (c upstreamCopier) run(ctx context.Context, errc chan<- error) {
	if n := c.buffered.Buffered(); n > 0 {
		p, _ := c.buffered.Peek(n)
		if _, err := c.backend.Write(p); err != nil {
			errc <- &streamError{"upstream", "writing upstream", err}
			return
		}
	}
	if _, err := c.strategy.Copy(ctx, c.backend, c.client, -1); err != nil {
		errc <- copyFailure(ctx, err, "client", "upstream")
		return
	}
	errc <- closeWrite(c.backend, "upstream")
}

// clientCopier copies the upstream's bytes to the client. At the
// upstream's EOF it half-closes the client.
type clientCopier struct {
	strategy bodycopy.Strategy
	client   net.Conn
	backend  io.ReadWriteCloser
}

func (c clientCopier) run(ctx context.Context, errc chan<- error) {
	if _, err := c.strategy.Copy(ctx, c.client, c.backend, -1); err != nil {
		errc <- copyFailure(ctx, err, "upstream", "client")
		return
	}
	errc <- closeWrite(c.client, "client")
}

// closeWrite passes a half-close on. A connection that cannot half-close
// is left open: the stream then ends when the other direction does.
func closeWrite(w any, side string) error {
	cw, ok := w.(interface{ CloseWrite() error })
	if !ok {
		return nil
	}
	if err := cw.CloseWrite(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return &streamError{side, "half-closing " + side, err}
	}
	return nil
}
