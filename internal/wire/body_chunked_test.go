package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// pieceReader returns at most max bytes per Read, as a socket does when
// the peer's bytes arrive in pieces.
type pieceReader struct {
	r   io.Reader
	max int
}

func (p *pieceReader) Read(b []byte) (int, error) { return p.r.Read(b[:min(len(b), p.max)]) }

// chunkedResponse is a chunked response whose one chunk is body; truncate
// cuts that many bytes off its end.
func chunkedResponse(body []byte, truncate int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", len(body))
	b.Write(body)
	b.WriteString("\r\n0\r\n\r\n")
	return b.Bytes()[:b.Len()-truncate]
}

// openChunked parses data, handed out piece bytes at a time, as a response
// to GET and returns its body.
func openChunked(t *testing.T, data []byte, piece int) io.ReadCloser {
	t.Helper()
	r := &pieceReader{bytes.NewReader(data), piece}
	rc := &conn{rd: r, br: bufio.NewReaderSize(r, bufSize)}
	req := (&http.Request{Method: "GET", URL: &url.URL{Path: "/"}, Header: http.Header{}}).WithContext(context.Background())
	res, err := rc.readResponse(req, nil)
	if err != nil {
		t.Fatalf("readResponse: %v", err)
	}
	if err := rc.frame(req.Context(), res, req, nil, nil); err != nil {
		t.Fatalf("frame: %v", err)
	}
	return res.Body
}

// TestRawChunkedWholeChunk checks that one Read returns all of a chunk
// that fits in p, though the read buffer held only its start: a 32 KiB
// chunk must reach the client as one write, not the buffer's tail and
// then the rest.
func TestRawChunkedWholeChunk(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 2<<10) // 32 KiB
	for _, piece := range []int{1000, bufSize, 7 << 10} {
		t.Run("piece="+strconv.Itoa(piece), func(t *testing.T) {
			b := openChunked(t, chunkedResponse(body, 0), piece)
			defer b.Close()
			p := make([]byte, 64<<10)
			n, err := b.Read(p)
			if err != nil || n != len(body) || !bytes.Equal(p[:n], body) {
				t.Fatalf("first Read = %d, %v; want %d bytes of the chunk, nil", n, err, len(body))
			}
			if n, err := b.Read(p); n != 0 || err != io.EOF {
				t.Fatalf("second Read = %d, %v; want 0, EOF", n, err)
			}
		})
	}
	t.Run("small-p", func(t *testing.T) {
		b := openChunked(t, chunkedResponse(body, 0), 1000)
		defer b.Close()
		got, err := io.ReadAll(io.LimitReader(b, int64(len(body))))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("ReadAll = %d bytes, %v; want %d bytes, nil", len(got), err, len(body))
		}
	})
}

// TestRawChunkedTruncatedChunk checks that a chunk cut short is an error
// after the bytes that came, never a clean end.
func TestRawChunkedTruncatedChunk(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 32<<10)
	for _, cut := range []int{len("\r\n0\r\n\r\n") + 1, len("\r\n0\r\n\r\n") + 20000} {
		t.Run("cut="+strconv.Itoa(cut), func(t *testing.T) {
			b := openChunked(t, chunkedResponse(body, cut), 1000)
			defer b.Close()
			got, err := io.ReadAll(b)
			if want := len(body) + len("\r\n0\r\n\r\n") - cut; len(got) != want {
				t.Errorf("read %d bytes; want %d", len(got), want)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("ReadAll error = %v; want io.ErrUnexpectedEOF", err)
			}
			if _, err := b.Read(make([]byte, 10)); err == nil || err == io.EOF {
				t.Errorf("Read after the failure: %v; want the failure again", err)
			}
		})
	}
}
