package loadgen

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func rawFrom(s string) *rawConn {
	return &rawConn{br: bufio.NewReaderSize(strings.NewReader(s), 16)}
}

func TestRawHeader(t *testing.T) {
	for _, c := range []struct {
		resp             string
		status           int
		length           int64
		chunked, closing bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", 200, 2, false, false},
		{"HTTP/1.1 200 OK\r\ncontent-length:  12 \r\nX-Long-Header: " + strings.Repeat("x", 100) + "\r\n\r\n", 200, 12, false, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, -1, true, false},
		{"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n", 502, -1, false, true},
		{"HTTP/1.0 200 OK\r\n\r\n", 200, -1, false, true},
	} {
		status, length, chunked, closing, err := rawFrom(c.resp).readHeader()
		if err != nil || status != c.status || length != c.length || chunked != c.chunked || closing != c.closing {
			t.Errorf("readHeader(%.40q) = %d %d %v %v %v; want %d %d %v %v", c.resp, status, length, chunked, closing, err,
				c.status, c.length, c.chunked, c.closing)
		}
	}
	for _, bad := range []string{"", "HTTP/1.1 200 OK\r\n", "SSH-2.0\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"} {
		if _, _, _, _, err := rawFrom(bad).readHeader(); err == nil {
			t.Errorf("readHeader(%q) succeeded; want an error", bad)
		}
	}
}

func TestRawChunked(t *testing.T) {
	for _, c := range []struct {
		body string
		n    int64
		ok   bool
	}{
		{"0\r\n\r\n", 0, true},
		{"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n", 8, true},
		{"20\r\n" + strings.Repeat("y", 32) + "\r\n0\r\n\r\n", 32, true},
		{"5\r\nhel", 3, false},              // cut mid-chunk
		{"5\r\nhello\r\n", 5, false},        // cut before the last chunk
		{"5\r\nhelloXX0\r\n\r\n", 5, false}, // no CRLF after the data
		{"zz\r\n", 0, false},
	} {
		n, err := rawFrom(c.body).discardChunked()
		if n != c.n || (err == nil) != c.ok {
			t.Errorf("discardChunked(%q) = %d, %v; want %d, ok %v", c.body, n, err, c.n, c.ok)
		}
		if err != nil && c.body == "5\r\nhel" && err != io.ErrUnexpectedEOF {
			t.Errorf("discardChunked(%q) error %v; want io.ErrUnexpectedEOF", c.body, err)
		}
	}
}
