package wire

import (
	"bytes"
	"fmt"
)

// chunkScan validates chunked framing (RFC 9112 section 7.1) as its bytes
// pass, without copying or rewriting them: size lines (as strict as
// readChunkSize, by the same parseChunkSize), each chunk's payload, and
// the CRLF after it. A size line is bounded by maxChunkLine, as a request
// body's is and as net/http's chunked reader bounds it (the response
// body's own reading, readChunkSize, allows up to maxHeaderBytes; only
// extensions make a line that long), so that a body relayed as it came
// stays readable there. It stops before the last chunk's size line, which it
// leaves with the trailer to the body's own reading (and with them the
// decision whether the connection can be reused).
//
// Its state between two scans is only what ChunkedBody holds (n and
// crlf), because scan never passes part of a size line or of a CRLF: the
// body can be read on by Read or Span after a pass-through.
type chunkScan struct {
	n    int64 // payload bytes left in the current chunk
	crlf bool  // the current chunk's payload has passed; its CRLF has not
	last bool  // stopped before the last chunk's size line

	// limit counts framing against payload as a request body's reading
	// does (net/http's server rule, see requestChunkedBody.nextChunk):
	// excess is the framing not yet paid for.
	limit  bool
	excess int64
}

// scan validates p's leading bytes and returns how many of them may pass
// as they are, and how many of those are payload. It stops before a size
// line or a CRLF that p holds only part of (they pass with the bytes that
// complete them), before the last chunk (s.last is then set, and every
// later scan passes nothing), and at malformed framing: err wraps
// errMalformed, and the n bytes before it were valid.
func (s *chunkScan) scan(p []byte) (n, payload int, err error) {
	for n < len(p) && !s.last {
		switch {
		case s.n > 0:
			k := int(min(int64(len(p)-n), s.n))
			n += k
			payload += k
			s.n -= int64(k)
			s.crlf = s.n == 0
		case s.crlf:
			if len(p)-n < 2 {
				return n, payload, nil
			}
			if p[n] != '\r' || p[n+1] != '\n' {
				return n, payload, fmt.Errorf("%w: chunk data not followed by CRLF", errMalformed)
			}
			n += 2
			s.crlf = false
		default:
			rest := p[n:]
			i := bytes.IndexByte(rest[:min(len(rest), maxChunkLine)], '\n')
			if i < 0 {
				if len(rest) >= maxChunkLine {
					return n, payload, fmt.Errorf("%w: chunk size line longer than %d bytes", errHeaderTooLong, maxChunkLine)
				}
				return n, payload, nil // the rest of the line is to come
			}
			if i == 0 || rest[i-1] != '\r' {
				return n, payload, fmt.Errorf("%w: line not ended by CRLF", errMalformed)
			}
			line := rest[:i-1]
			if bytes.IndexByte(line, '\r') >= 0 {
				return n, payload, fmt.Errorf("%w: CR in chunk size line %q", errMalformed, clip(line))
			}
			size, ok := parseChunkSize(line)
			if !ok {
				return n, payload, fmt.Errorf("%w: bad chunk size line %q", errMalformed, clip(line))
			}
			if size == 0 {
				s.last = true
				return n, payload, nil
			}
			if s.limit {
				var ok bool
				if s.excess, ok = chargeFraming(s.excess, len(line), size); !ok {
					return n, payload, fmt.Errorf("%w: chunked encoding with too much non-data", errMalformed)
				}
			}
			n += i + 1
			s.n = size
		}
	}
	return n, payload, nil
}
