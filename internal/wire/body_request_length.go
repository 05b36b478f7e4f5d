package wire

import (
	"io"
	"net/http"
)

// requestLengthBody is the Body of a request with a Content-Length: the
// body's bytes from the connection's read buffer and, for a large one,
// through it straight from the connection. It is one span for a copy
// strategy that splices (Span). The [RequestReader] keeps one and reuses
// it for every such request on its connection.
type requestLengthBody struct {
	r    *RequestReader
	n    int64            // bytes not yet handed out
	rest io.LimitedReader // the last span's rest (Span)
	err  error
}

func (b *requestLengthBody) reset(n int64) {
	*b = requestLengthBody{r: b.r, n: n}
}

// done reports whether the body was read to its end.
func (b *requestLengthBody) done() bool { return b.err == nil && b.n == 0 && b.rest.N == 0 }

// Read reads up to the body's end, then returns io.EOF; a connection that
// ends first fails with io.ErrUnexpectedEOF.
func (b *requestLengthBody) Read(p []byte) (int, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	if b.n == 0 {
		return 0, io.EOF
	}
	n, err := b.r.readBody(p, &b.n)
	b.err = err
	return n, err
}

// check returns the body's error, a span's rest not moved to its end
// being io.ErrUnexpectedEOF.
func (b *requestLengthBody) check() error {
	if b.err == nil && b.rest.N > 0 {
		b.err = io.ErrUnexpectedEOF
	}
	return b.err
}

// Close ends the body; one not read to its end leaves the connection out
// of step, which the next [RequestReader.Read] reports.
func (b *requestLengthBody) Close() error {
	if b.check() == nil && b.n > 0 {
		b.err = http.ErrBodyReadAfterClose
	}
	return nil
}

// Span implements copy.SpliceSource: one span, the body bytes buffered
// with the head and the rest straight from [RequestReader.Src].
func (b *requestLengthBody) Span() ([]byte, *io.LimitedReader, error) {
	if err := b.check(); err != nil {
		return nil, nil, err
	}
	if b.n == 0 {
		return nil, nil, io.EOF
	}
	return b.r.span(&b.rest, &b.n), &b.rest, nil
}
