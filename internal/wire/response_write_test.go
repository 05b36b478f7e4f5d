package wire

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestWriteResponseHead(t *testing.T) {
	cases := []struct {
		name           string
		proto11        bool
		code           int
		status         string
		h              http.Header
		cl             int64
		chunked, close bool
		want           string // "" for an error
	}{
		{"ok-length", true, 200, "200 OK", http.Header{"Api-Version": {"1.47"}}, 2, false, false,
			"HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\nContent-Length: 2\r\n\r\n"},
		{"standard-text", true, 404, "", nil, 0, false, false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
		{"own-text", true, 200, "200 Fine", nil, -1, true, false, "HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"no-text", true, 599, "", nil, -1, false, true, "HTTP/1.1 599 \r\nConnection: close\r\n\r\n"},
		{"bare-code", true, 299, "299", nil, -1, false, true, "HTTP/1.1 299\r\nConnection: close\r\n\r\n"},
		{"framing-fields-skipped", true, 200, "", http.Header{"Content-Length": {"9"}, "Transfer-Encoding": {"x"}, "Trailer": {"y"}}, 1, false, false,
			"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"},
		{"close-once", true, 204, "", http.Header{"Connection": {"close"}}, -1, false, true, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"},
		{"http10-keep-alive", false, 200, "", nil, 3, false, false, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n"},
		{"http10-close", false, 200, "", nil, -1, false, true, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n"},
		{"upgrade", true, 101, "", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"tcp"}}, -1, false, false, ""},
		{"http10-chunked", false, 200, "", nil, -1, true, false, ""},
		{"status-mismatch", true, 200, "201 Created", nil, 0, false, false, ""},
		{"status-crlf", true, 200, "200 OK\r\nX: y", nil, 0, false, false, ""},
		{"bad-code", true, 42, "", nil, 0, false, false, ""},
		{"bad-value", true, 200, "", http.Header{"X": {"a\r\nb"}}, 0, false, false, ""},
		{"bad-key", true, 200, "", http.Header{"X Y": {"a"}}, 0, false, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			err := WriteResponseHead(w, c.proto11, c.code, c.status, c.h, c.cl, c.chunked, c.close)
			w.Flush()
			if c.name == "upgrade" {
				// Field order is the map's: check the parts.
				got := buf.String()
				if err != nil || !strings.HasPrefix(got, "HTTP/1.1 101 Switching Protocols\r\n") ||
					!strings.Contains(got, "\r\nConnection: Upgrade\r\n") || !strings.Contains(got, "\r\nUpgrade: tcp\r\n") ||
					!strings.HasSuffix(got, "\r\n\r\n") || strings.Contains(got, "Content-Length") {
					t.Errorf("got %q, %v", got, err)
				}
				return
			}
			if c.want == "" {
				if err == nil {
					t.Errorf("wrote %q; want an error", buf.String())
				}
				return
			}
			if err != nil || buf.String() != c.want {
				t.Errorf("got %q, %v; want %q", buf.String(), err, c.want)
			}
			if _, err := http.ReadResponse(bufio.NewReader(&buf), nil); err != nil {
				t.Errorf("net/http cannot read %q: %v", c.want, err)
			}
		})
	}
}

func TestWriteResponseHeadAllocs(t *testing.T) {
	h := http.Header{"Api-Version": {"1.47"}, "Content-Type": {"application/json"}, "Docker-Experimental": {"false"}}
	w := bufio.NewWriter(nil)
	var n int64
	for _, chunked := range []bool{false, true} {
		allocs := testing.AllocsPerRun(100, func() {
			w.Reset(discard{})
			n++
			if err := WriteResponseHead(w, true, 200, "200 OK", h, n, chunked, false); err != nil {
				t.Fatal(err)
			}
			w.Flush()
		})
		if allocs != 0 {
			t.Errorf("chunked=%v: %v allocations; want 0", chunked, allocs)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
