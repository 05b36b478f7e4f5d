package wire

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzRawResponse feeds arbitrary bytes to the raw transport's response
// and chunk parsing. It must never panic, and whatever it accepts (header
// and whole body without error) must be a response net/http also accepts,
// with the same status and body: the raw parser may be stricter than
// net/http, never looser. Informational and 101 responses are left out of
// the comparison (net/http's ReadResponse returns them as final).
func FuzzRawResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
		"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{}\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n1\r\na\r\n0\r\nX-T: v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nclose-delimited",
		"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz",
		"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nzz",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		res, body, err := parseRaw(data, method)
		if err != nil {
			return
		}
		if res.StatusCode < 200 || bytes.HasPrefix(data[9:], []byte("1")) {
			return // 1xx before the final response, or a 101
		}
		if res.ContentLength >= 0 && method == "GET" && int64(len(body)) != res.ContentLength {
			t.Fatalf("accepted a %d-byte body with ContentLength %d", len(body), res.ContentLength)
		}
		req, _ := http.NewRequest(method, "http://docker/", nil)
		goRes, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), req)
		if err != nil {
			t.Fatalf("raw accepted %q (%d %q); net/http: %v", data, res.StatusCode, body, err)
		}
		goBody, err := io.ReadAll(goRes.Body)
		if err != nil {
			t.Fatalf("raw accepted %q (%d %q); net/http body: %v", data, res.StatusCode, body, err)
		}
		if goRes.StatusCode != res.StatusCode || !bytes.Equal(goBody, body) {
			t.Fatalf("raw accepted %q as %d %q; net/http reads %d %q", data, res.StatusCode, body, goRes.StatusCode, goBody)
		}
	})
}
