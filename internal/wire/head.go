package wire

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
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

// readLine returns the next CRLF-terminated line without its CRLF. The
// slice is valid until the next read from rc.br. limit counts the bytes
// left for the header.
func (rc *conn) readLine(limit *int) ([]byte, error) {
	line, err := rc.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		rc.scrap = append(rc.scrap[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(rc.scrap) > *limit {
				return nil, fmt.Errorf("%w: header over %d bytes", errMalformed, maxHeaderBytes)
			}
			line, err = rc.br.ReadSlice('\n')
			rc.scrap = append(rc.scrap, line...)
		}
		line = rc.scrap
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	*limit -= len(line)
	if *limit < 0 {
		return nil, fmt.Errorf("%w: header over %d bytes", errMalformed, maxHeaderBytes)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not ended by CRLF", errMalformed)
	}
	return line[:len(line)-2], nil
}

// readFields reads header fields up to the empty line into rc.kv.
func (rc *conn) readFields(limit *int) error {
	rc.prev, rc.kv = rc.kv, rc.prev[:0]
	for {
		line, err := rc.readLine(limit)
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
		rc.kv = append(rc.kv, headerKV{rc.canonicalKey(key), rc.value(len(rc.kv), v)})
	}
}

// canonicalKey canonicalizes key in place and returns it as a string,
// without allocating for common keys.
func (rc *conn) canonicalKey(key []byte) string {
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
	return string(key)
}

// value returns v as a string, reusing the previous response's string
// when the field at the same index had the same value (Api-Version,
// Server, Content-Type, often Date and Content-Length).
func (rc *conn) value(i int, v []byte) string {
	if i < len(rc.prev) && rc.prev[i].value == string(v) {
		return rc.prev[i].value
	}
	if s, ok := commonValues[string(v)]; ok {
		return s
	}
	return string(v)
}

// header builds the http.Header of rc.kv: one map (a recycled one when
// there is one), one backing array of values (vals when it is long
// enough).
func (rc *conn) header(vals []string) http.Header {
	var h http.Header
	if rc.t != nil {
		h, _ = rc.t.headers.Get().(http.Header)
	}
	if h == nil {
		h = make(http.Header, len(rc.kv))
	}
	if len(vals) < len(rc.kv) {
		vals = make([]string, len(rc.kv))
	}
	for i, kv := range rc.kv {
		vals[i] = kv.value
		if old, ok := h[kv.key]; ok {
			h[kv.key] = append(old, kv.value)
			continue
		}
		h[kv.key] = vals[i : i+1 : i+1]
	}
	return h
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// commonKeys maps the canonical form of common response header keys to a
// shared string, so that parsing them allocates nothing.
var commonKeys = map[string]string{}

// commonValues are header values taken without allocating.
var commonValues = map[string]string{}
