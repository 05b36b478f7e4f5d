package wire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
)

// readChunkSize reads a chunk size line (RFC 9112 section 7.1) and
// returns the chunk's size and the line's length without its CRLF. It is
// as strict as net/http's chunked reader, so that nothing it accepts
// frames differently there: CRLF only at the line's end, no CR before
// it, OWS only at the end of the line (not before ';'), at most 15 hex
// digits, extensions ignored. limit bounds the line as for readLine.
func (h *headReader) readChunkSize(br *bufio.Reader, limit *int) (n int64, lineLen int, err error) {
	line, err := h.readLine(br, limit)
	if err != nil {
		return 0, 0, err
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return 0, 0, fmt.Errorf("%w: CR in chunk size line %q", errMalformed, clip(line))
	}
	n, ok := parseChunkSize(line)
	if !ok {
		return 0, 0, fmt.Errorf("%w: bad chunk size line %q", errMalformed, clip(line))
	}
	return n, len(line), nil
}

// readChunkEnd reads the CRLF that ends a chunk's data. A connection that
// ends first fails with io.ErrUnexpectedEOF, other bytes with an error
// wrapping errMalformed.
func readChunkEnd(br *bufio.Reader) error {
	p, err := br.Peek(2)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if p[0] != '\r' || p[1] != '\n' {
		return fmt.Errorf("%w: chunk data not followed by CRLF", errMalformed)
	}
	br.Discard(2)
	return nil
}

// parseChunkSize parses "HEX[;ext]" followed by optional whitespace.
func parseChunkSize(line []byte) (int64, bool) {
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}

// ChunkWriter frames each Write as one chunk (RFC 9112 section 7.1) on W:
// size line, data and CRLF in one writev when W is a net.Conn, and flushed
// at once when W has a Flush() error method (a *bufio.Writer): a piece
// goes out as it comes, as a stream's must. The proxy writes a parked
// stream to its client with it, the transport a chunked request body.
type ChunkWriter struct {
	W    io.Writer
	size [18]byte
	vec  [3][]byte
}

var crlf = []byte("\r\n")

// Write writes p as one chunk; an empty p writes nothing (a zero-size
// chunk would end the body).
func (w *ChunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	line := strconv.AppendInt(w.size[:0], int64(len(p)), 16)
	line = append(line, '\r', '\n')
	w.vec = [3][]byte{line, p, crlf}
	v := net.Buffers(w.vec[:])
	_, err := v.WriteTo(w.W)
	w.vec = [3][]byte{}
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *ChunkWriter) flush() error {
	if f, ok := w.W.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// End writes the last chunk and the trailer fields (those not allowed in
// a trailer dropped, as net/http does), and flushes.
func (w *ChunkWriter) End(trailer http.Header) error {
	b := []byte("0\r\n")
	for k, vv := range trailer {
		switch k {
		case "Transfer-Encoding", "Content-Length", "Trailer":
			continue // not allowed in a trailer (net/http drops them too)
		}
		for _, v := range vv {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, '\r', '\n')
		}
	}
	b = append(b, '\r', '\n')
	if _, err := w.W.Write(b); err != nil {
		return err
	}
	return w.flush()
}
