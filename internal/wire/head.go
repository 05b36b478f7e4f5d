package wire

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"sync"
)

type headerKV struct{ key, value string }

func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTokenChar(k[i]) {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// headReader reads a message head, the start line aside: CRLF-terminated
// lines and header fields, canonical keys and values taken without
// allocating where they are common or repeat the previous message's. It
// keeps its scratch between messages and reads from any bufio.Reader, so
// that a response (response.go), a chunked body's trailer and a request
// are read by the same code.
type headReader struct {
	kv    []headerKV // this message's header fields
	prev  []headerKV // the previous message's, whose value strings are reused when equal
	scrap []byte     // a header line longer than the read buffer

	// seen, when not nil, holds keys and values of earlier messages
	// that are in neither table, so that a connection's repeated strings
	// (a client's User-Agent, its Host, an API's own keys) are made once;
	// at most maxSeen short ones. The request reader has one; a pooled
	// upstream connection relies on prev.
	seen map[string]string
}

// maxSeen bounds a headReader's seen strings, and maxSeenLen their length.
const (
	maxSeen    = 32
	maxSeenLen = 128
)

// intern returns b as a string: the one in seen when there is, else a new
// one, which seen keeps while it has room.
func (h *headReader) intern(b []byte) string {
	if h.seen == nil || len(b) > maxSeenLen {
		return string(b)
	}
	if s, ok := h.seen[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(h.seen) < maxSeen {
		h.seen[s] = s
	}
	return s
}

// readLine returns the next CRLF-terminated line without its CRLF. The
// slice is valid until the next read from br. limit counts the bytes
// left for the header; a line that does not fit fails with
// errHeaderTooLong.
func (h *headReader) readLine(br *bufio.Reader, limit *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		h.scrap = append(h.scrap[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(h.scrap) > *limit {
				return nil, errHeaderTooLong
			}
			line, err = br.ReadSlice('\n')
			h.scrap = append(h.scrap, line...)
		}
		line = h.scrap
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	*limit -= len(line)
	if *limit < 0 {
		return nil, errHeaderTooLong
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not ended by CRLF", errMalformed)
	}
	return line[:len(line)-2], nil
}

// readFields reads header fields up to the empty line into h.kv.
func (h *headReader) readFields(br *bufio.Reader, limit *int) error {
	h.prev, h.kv = h.kv, h.prev[:0]
	for {
		line, err := h.readLine(br, limit)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 {
			return fmt.Errorf("%w: bad header line %q", errMalformed, clip(line))
		}
		key := line[:colon]
		for _, c := range key {
			if !isTokenChar(c) {
				// Includes obs-fold lines (leading space) and a space
				// before the colon (RFC 9112 section 5.1).
				return fmt.Errorf("%w: bad header line %q", errMalformed, clip(line))
			}
		}
		v := line[colon+1:]
		for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
			v = v[1:]
		}
		for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			v = v[:len(v)-1]
		}
		for _, c := range v {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return fmt.Errorf("%w: control byte in header %q", errMalformed, clip(key))
			}
		}
		h.kv = append(h.kv, headerKV{h.canonicalKey(key), h.value(len(h.kv), v)})
	}
}

// canonicalKey canonicalizes key in place and returns it as a string,
// without allocating for common keys.
func (h *headReader) canonicalKey(key []byte) string {
	upper := true
	for i, c := range key {
		if upper && 'a' <= c && c <= 'z' {
			key[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			key[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	if s, ok := commonKeys[string(key)]; ok {
		return s
	}
	return h.intern(key)
}

// value returns v as a string, reusing the previous response's string
// when the field at the same index had the same value (Api-Version,
// Server, Content-Type, often Date and Content-Length).
func (h *headReader) value(i int, v []byte) string {
	if i < len(h.prev) && h.prev[i].value == string(v) {
		return h.prev[i].value
	}
	if s, ok := commonValues[string(v)]; ok {
		return s
	}
	return h.intern(v)
}

// header builds the http.Header of h.kv: one map (a recycled one when
// there is one), one backing array of values (vals when it is long
// enough).
func (h *headReader) header(vals []string, maps *sync.Pool) http.Header {
	var m http.Header
	if maps != nil {
		m, _ = maps.Get().(http.Header)
	}
	if m == nil {
		m = make(http.Header, len(h.kv))
	}
	if len(vals) < len(h.kv) {
		vals = make([]string, len(h.kv))
	}
	h.fill(m, vals)
	return m
}

// fill adds h.kv to m, each key's first value a one-element slice of vals
// (at least len(h.kv) long), so that a reused map and vals take a head's
// fields without allocating.
func (h *headReader) fill(m http.Header, vals []string) {
	for i, kv := range h.kv {
		vals[i] = kv.value
		if old, ok := m[kv.key]; ok {
			m[kv.key] = append(old, kv.value)
			continue
		}
		m[kv.key] = vals[i : i+1 : i+1]
	}
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// commonKeys maps the canonical form of common header keys to a shared
// string, so that parsing them allocates nothing; commonValues are header
// values taken without allocating. Both start with HTTP's own; Intern adds
// an API's (the proxy adds Docker's).
var commonKeys, commonValues = map[string]string{}, map[string]string{}

func init() {
	Intern([]string{
		"Cache-Control", "Connection", "Content-Encoding", "Content-Length", "Content-Type", "Date",
		"Etag", "Expires", "Keep-Alive", "Last-Modified", "Location", "Pragma", "Server", "Trailer",
		"Transfer-Encoding", "Upgrade", "Vary", "Www-Authenticate", "X-Content-Type-Options",
		"Accept-Ranges", "Set-Cookie",
		// requests'
		"Host", "User-Agent", "Accept", "Accept-Encoding", "Authorization", "Expect", "Te", "Cookie",
		"Origin", "Referer", "X-Forwarded-For",
	}, []string{
		"application/json", "text/plain; charset=utf-8", "application/octet-stream", "nosniff",
		"chunked", "close", "keep-alive", "Upgrade", "upgrade", "tcp", "false", "true", "no-cache",
		"0", "1", "2", "OK",
		"100-continue", "gzip", "*/*", "trailers", "identity",
	})
}

// Intern adds header keys (in canonical form) and values that the head
// reader takes without allocating. Call it only from an init function:
// the tables are read without a lock.
func Intern(keys, values []string) {
	for _, k := range keys {
		commonKeys[k] = k
	}
	for _, v := range values {
		commonValues[v] = v
	}
}
