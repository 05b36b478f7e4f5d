package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
)

// requestChunkedBody decodes a chunked request body (RFC 9112 section
// 7.1) from the connection's read buffer, with the chunk size and trailer
// parsing of the response side, bounded as net/http's server bounds them:
// a size line under 4 KiB, a trailer within the read buffer, and framing
// overhead limited against the data. Trailer fields go to the request's
// Trailer. The [RequestReader] keeps one and reuses it for every chunked
// request on its connection.
type requestChunkedBody struct {
	r        *RequestReader
	req      *http.Request
	n        int64 // bytes left in the current chunk
	needCRLF bool  // the current chunk's data is read; its CRLF is not
	excess   int64 // framing bytes not yet paid for by data (net/http's rule)
	eof      bool  // read to its end, trailer included
	err      error
	rest     io.LimitedReader // the last span's rest (Span)
	trailer  headReader
}

func (b *requestChunkedBody) reset(req *http.Request) {
	b.req, b.n, b.needCRLF, b.excess, b.eof, b.err = req, 0, false, 0, false, nil
	b.rest = io.LimitedReader{}
}

// done reports whether the body was read to its end.
func (b *requestChunkedBody) done() bool { return b.eof && b.err == nil }

// Read reads the chunks' data, then returns io.EOF after the last chunk
// and the trailer. Like net/http's chunked reader, one Read goes on into
// the next chunks while their framing is already buffered, so that a
// client's small chunks do not become as many small writes upstream.
func (b *requestChunkedBody) Read(p []byte) (int, error) {
	if err := b.startChunk(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	for {
		m, err := b.r.readBody(p[n:], &b.n)
		n += m
		if b.n == 0 {
			b.needCRLF = true
		}
		if err != nil {
			b.err = err
			return n, err
		}
		if n == len(p) || b.n > 0 || !b.nextBuffered() {
			return n, nil
		}
		if b.startChunk() != nil {
			return n, nil // io.EOF or the error, at the next Read
		}
	}
}

// nextBuffered reports whether the framing after the current chunk's data
// (its CRLF and the next size line) is already in the read buffer, for a
// chunk with data: starting it then reads nothing from the connection.
func (b *requestChunkedBody) nextBuffered() bool {
	br := b.r.br
	k := br.Buffered()
	if k < 5 {
		return false
	}
	p, _ := br.Peek(k)
	if p[0] != '\r' || p[1] != '\n' || p[2] == '0' {
		return false // malformed (the next Read tells), or the last chunk
	}
	return bytes.IndexByte(p[2:], '\n') >= 0
}

// startChunk returns the body's error or io.EOF, or makes sure a chunk
// with data is current.
func (b *requestChunkedBody) startChunk() error {
	if b.err == nil && b.rest.N > 0 {
		b.err = io.ErrUnexpectedEOF // a span's rest not moved to its end
	}
	if b.err != nil {
		return b.err
	}
	if b.eof {
		return io.EOF
	}
	if b.n > 0 {
		return nil
	}
	err := b.nextChunk()
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		b.err = err
	}
	return err
}

// nextChunk reads the CRLF that ends the previous chunk's data and the
// next size line; at the last chunk it reads the trailer and returns
// io.EOF.
func (b *requestChunkedBody) nextChunk() error {
	br := b.r.br
	if b.needCRLF {
		b.needCRLF = false
		if err := readChunkEnd(br); err != nil {
			return bodyError(err)
		}
	}
	limit := min(maxChunkLine, br.Size())
	n, lineLen, err := b.trailer.readChunkSize(br, &limit)
	if err != nil {
		return bodyError(err)
	}
	var ok bool
	if b.excess, ok = chargeFraming(b.excess, lineLen, n); !ok {
		return badRequest("chunked encoding with too much non-data")
	}
	if n > 0 {
		b.n = n
		return nil
	}
	// The trailer must fit in the read buffer, as net/http's does.
	limit = br.Size()
	if err := b.trailer.readFields(br, &limit); err != nil {
		return bodyError(err)
	}
	if len(b.trailer.kv) > 0 {
		t := make(http.Header, len(b.trailer.kv))
		for _, kv := range b.trailer.kv {
			t[kv.key] = append(t[kv.key], kv.value)
		}
		if b.req.Trailer == nil {
			b.req.Trailer = t
		} else {
			maps.Copy(b.req.Trailer, t)
		}
	}
	return io.EOF
}

// Close ends the body; one not read to its end leaves the connection out
// of step, which the next [RequestReader.Read] reports.
func (b *requestChunkedBody) Close() error {
	if b.err == nil && !b.eof {
		b.err = http.ErrBodyReadAfterClose
	}
	return nil
}

// Span implements copy.SpliceSource: one span per chunk, the chunk's bytes
// already buffered and the rest of the chunk straight from
// [RequestReader.Src].
func (b *requestChunkedBody) Span() ([]byte, *io.LimitedReader, error) {
	if err := b.startChunk(); err != nil {
		return nil, nil, err
	}
	head := b.r.span(&b.rest, &b.n)
	b.needCRLF = true
	return head, &b.rest, nil
}

// maxChunkExcess is how much framing beyond what its payload pays for a
// request body may have (net/http's chunkedReader: 16 bytes per chunk and
// twice its data are free; more than 16 KiB beyond that is abuse).
const maxChunkExcess = 16 << 10

// chargeFraming adds a chunk's framing (its size line, lineLen bytes
// without the CRLF, and the CRLF after its data) to excess, less what its
// size bytes of data pay for, as net/http's chunkedReader counts; ok is
// false when the result passes maxChunkExcess. Read (nextChunk) and
// ReadFramed (chunkScan) charge each chunk with it.
func chargeFraming(excess int64, lineLen int, size int64) (_ int64, ok bool) {
	excess = max(excess+int64(lineLen)+2-16-2*size, 0)
	return excess, excess <= maxChunkExcess
}

// ReadFramed reads the body's chunks, framing included, into buf and
// returns the bytes to send on as they are, as [ChunkedBody.ReadFramed]
// does for a response: size lines with their extensions, payload and
// CRLFs, validated as they pass (as strictly as Read, net/http's framing
// limit included), payload counting the chunk data among them. It returns
// what the read buffer holds, else what one read of the connection brings
// (many chunks per system call); it blocks until some bytes pass. Bytes it
// read past them (part of a size line, the last chunk, the trailer, a
// pipelined request) go back before [RequestReader.Under].
//
// At the last chunk it returns io.EOF, the body's own reading having read
// that chunk and the trailer into the request's Trailer: the caller
// writes the last chunk itself. Malformed framing is a *RequestError, and
// a connection that ends mid-body io.ErrUnexpectedEOF, after the valid
// bytes before them (framed holds those). buf must hold at least
// [MinFramedBuf] bytes; Read and ReadFramed may follow one another.
func (b *requestChunkedBody) ReadFramed(buf []byte) (framed []byte, payload int, err error) {
	if b.err == nil && b.rest.N > 0 {
		b.err = io.ErrUnexpectedEOF // a span's rest not moved to its end
	}
	if b.err != nil {
		return nil, 0, b.err
	}
	if b.eof {
		return nil, 0, io.EOF
	}
	if len(buf) < MinFramedBuf {
		return nil, 0, fmt.Errorf("wire: ReadFramed: a %d-byte buffer; want at least %d", len(buf), MinFramedBuf)
	}
	r := b.r
	if r.under() == nil {
		return nil, 0, errors.New("wire: ReadFramed: the RequestReader has neither Under nor Src")
	}
	s := chunkScan{n: b.n, crlf: b.needCRLF, limit: true, excess: b.excess}
	n, pass := 0, 0 // bytes in buf, of which pass are validated
	for {
		// What br buffers, else one read of the connection.
		m, rerr := r.br.Read(buf[n:])
		n += m
		k, pl, serr := s.scan(buf[pass:n])
		pass += k
		payload += pl
		b.n, b.needCRLF, b.excess = s.n, s.crlf, s.excess
		switch {
		case serr != nil:
			b.err = bodyError(serr)
			return buf[:pass], payload, b.err
		case s.last:
			r.unread(buf[pass:n])
			if pass > 0 {
				return buf[:pass], payload, nil
			}
			return nil, 0, b.startChunk() // the last chunk and the trailer: io.EOF
		case pass > 0:
			r.unread(buf[pass:n])
			return buf[:pass], payload, nil
		case rerr != nil:
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			b.err = rerr
			return nil, 0, b.err
		case m == 0:
			b.err = io.ErrNoProgress
			return nil, 0, b.err
		}
	}
}

// bodyError turns a framing error into a *RequestError; a read failure
// stays as it is.
func bodyError(err error) error {
	if errors.Is(err, errMalformed) {
		return badRequest(err.Error())
	}
	return err
}
