package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestChunkScan walks framings through chunkScan whole and one byte at a
// time (a size line or CRLF that arrived in part waits for the rest): what
// passes, how much of it is payload, whether it stopped at the last chunk,
// and what it refuses.
func TestChunkScan(t *testing.T) {
	long := strings.Repeat("e", maxChunkLine)
	cases := []struct {
		name, in string
		pass     int // bytes that pass
		payload  int
		last     bool
		bad      bool
	}{
		{"empty", "", 0, 0, false, false},
		{"last-only", "0\r\n\r\n", 0, 0, true, false},
		{"two-chunks", "2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n", 19, 5, true, false},
		{"leading-zeros", "002\r\nab\r\n000\r\n", 9, 2, true, false},
		{"upper-hex", "A\r\n0123456789\r\n", 15, 10, false, false},
		{"ows-after", "2 \t\r\nab\r\n", 9, 2, false, false},
		{"ext-quoted", "2;a=\"b;c\"\r\nab\r\n", 15, 2, false, false},
		{"part-line", "2\r\nab\r\n1", 7, 2, false, false},
		{"part-crlf", "2\r\nab\r", 5, 2, false, false},
		{"part-payload", "4\r\nab", 5, 2, false, false},
		{"last-with-ext", "1\r\na\r\n0;x\r\n", 6, 1, true, false},
		{"15-digits", "000000000000001\r\na\r\n", 20, 1, false, false},
		{"line-max", "1;" + long[:maxChunkLine-4] + "\r\na\r\n", maxChunkLine + 3, 1, false, false},
		{"line-too-long", "1;" + long[:maxChunkLine-3] + "\r\na\r\n", 0, 0, false, true},
		{"line-too-long-part", "1;" + long, 0, 0, false, true},
		{"16-digits", "0000000000000001\r\na\r\n", 0, 0, false, true},
		{"bare-lf", "2\nab\r\n", 0, 0, false, true},
		{"cr-in-line", "2\r;x\r\nab\r\n", 0, 0, false, true},
		{"ows-before-ext", "2 ;x\r\nab\r\n", 0, 0, false, true},
		{"leading-ows", " 2\r\nab\r\n", 0, 0, false, true},
		{"not-hex", "g\r\nab\r\n", 0, 0, false, true},
		{"empty-size", "\r\nab\r\n", 0, 0, false, true},
		{"sign", "+2\r\nab\r\n", 0, 0, false, true},
		{"no-crlf-after-data", "2\r\nabc\r\n", 5, 2, false, true},
		{"lf-after-data", "2\r\nab\n\r\n", 5, 2, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s chunkScan
			n, payload, err := s.scan([]byte(c.in))
			if n != c.pass || payload != c.payload || s.last != c.last || (err != nil) != c.bad {
				t.Fatalf("scan(%q) = %d, %d, last %v, %v; want %d, %d, last %v, error %v", clip([]byte(c.in)), n, payload, s.last, err, c.pass, c.payload, c.last, c.bad)
			}
			if err != nil && !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			// One byte at a time, the bytes held back offered again with
			// the next: the same verdict, the same bytes passed.
			var s1 chunkScan
			passed, total := 0, 0
			var err1 error
			for i := 1; i <= len(c.in) && err1 == nil; i++ {
				var k, pl int
				k, pl, err1 = s1.scan([]byte(c.in[passed:i]))
				passed += k
				total += pl
			}
			if passed != c.pass || total != c.payload || s1.last != c.last || (err1 != nil) != c.bad {
				t.Fatalf("byte at a time: passed %d, %d payload, last %v, %v; want %d, %d, last %v, error %v", passed, total, s1.last, err1, c.pass, c.payload, c.last, c.bad)
			}
		})
	}
}

// readAllFramed reads b (a response's or a request's chunked body) with
// ReadFramed through a buffer of size bytes and returns what it handed out
// and the error that ended it (nil at the body's end).
func readAllFramed(b FramedReader, size int) (framed []byte, payload int, err error) {
	buf := make([]byte, size)
	for empty := 0; ; {
		p, n, err := b.ReadFramed(buf)
		framed = append(framed, p...)
		payload += n
		if err == io.EOF {
			return framed, payload, nil
		}
		if err != nil {
			return framed, payload, err
		}
		if len(p) == 0 {
			if empty++; empty > 100 {
				return framed, payload, io.ErrNoProgress
			}
		}
	}
}

// goDechunk decodes chunked framing with net/http's chunked reader.
func goDechunk(framed []byte) ([]byte, error) {
	return io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(framed)))
}

// chunkedOf frames pieces as chunks (empty pieces skipped), then the last
// chunk and the trailer tr (fields with CRLFs, or "").
func chunkedOf(tr string, pieces ...[]byte) []byte {
	var b bytes.Buffer
	for _, p := range pieces {
		if len(p) > 0 {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(p), p)
		}
	}
	b.WriteString("0\r\n" + tr + "\r\n")
	return b.Bytes()
}

// TestReadFramed reads bodies of many chunks handed out in pieces of
// every awkward size: the framing passes byte for byte up to the last
// chunk, the trailer is read into the response, and the connection is
// reusable only when nothing followed the body.
func TestReadFramed(t *testing.T) {
	var pieces [][]byte
	for _, n := range []int{1, 2, 15, 16, 4093, 4096, 32 << 10, 100, 300 << 10, 7} {
		pieces = append(pieces, bytes.Repeat([]byte{byte('a' + n%26)}, n))
	}
	body := chunkedOf("X-T: v\r\n", pieces...)
	end := len(body) - len("0\r\nX-T: v\r\n\r\n")
	want := bytes.Join(pieces, nil)
	for _, piece := range []int{1, 3, 4095, bufSize, 5000, 64 << 10, 1 << 20} {
		for _, size := range []int{MinFramedBuf, 64 << 10, 256 << 10} {
			t.Run(fmt.Sprintf("piece=%d/buf=%d", piece, size), func(t *testing.T) {
				for _, extra := range []string{"", "HTTP/1.1 200 OK\r\n"} {
					data := append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"), body...)
					data = append(data, extra...)
					res, b := openChunkedRes(t, data, piece)
					framed, payload, err := readAllFramed(b, size)
					if err != nil {
						t.Fatalf("extra %q: ReadFramed: %v after %d bytes", extra, err, len(framed))
					}
					if !bytes.Equal(framed, body[:end]) {
						t.Fatalf("extra %q: framed %d bytes; want the body's %d up to its last chunk, as they came", extra, len(framed), end)
					}
					if payload != len(want) {
						t.Fatalf("payload %d; want %d", payload, len(want))
					}
					if got := res.Trailer.Get("X-T"); got != "v" {
						t.Fatalf("trailer X-T = %q; want v", got)
					}
					// Bytes after the body are seen when they came with
					// its end (else the pool's probe sees them).
					if keep := b.f.keep; extra == "" && !keep {
						t.Fatalf("keep = false after a whole body; want true")
					}
					b.Close()
				}
			})
		}
	}
	t.Run("mixed-with-read", func(t *testing.T) {
		data := append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), body...)
		_, b := openChunkedRes(t, data, 1000)
		p := make([]byte, 10)
		if n, err := io.ReadFull(b, p); n != 10 || err != nil {
			t.Fatalf("Read: %d, %v", n, err)
		}
		framed, _, err := readAllFramed(b, MinFramedBuf)
		if err != nil {
			t.Fatal(err)
		}
		// After 10 bytes of payload read (chunks of 1, 2 and 15): the
		// third chunk's last 8 bytes, then whole chunks.
		got, err := goDechunk(append([]byte("8\r\n"), append(framed, "0\r\n\r\n"...)...))
		if err != nil || !bytes.Equal(got, want[10:]) {
			t.Fatalf("after Read: %v; payload differs", err)
		}
	})
}

// openChunkedRes is openChunked, with the response.
func openChunkedRes(t *testing.T, data []byte, piece int) (*http.Response, *ChunkedBody) {
	t.Helper()
	r := &pieceReader{bytes.NewReader(data), piece}
	rc := &conn{rd: r, br: bufio.NewReaderSize(r, bufSize)}
	req, _ := http.NewRequest("GET", "http://docker/", nil)
	res, err := rc.readResponse(req, nil)
	if err != nil {
		t.Fatalf("readResponse: %v", err)
	}
	if err := rc.frame(req.Context(), res, req, nil, nil); err != nil {
		t.Fatalf("frame: %v", err)
	}
	return res, res.Body.(*ChunkedBody)
}

// TestReadFramedTruncated: a body that ends anywhere before its last
// chunk's end is an error after valid bytes, never a clean end, and the
// connection is not reused.
func TestReadFramedTruncated(t *testing.T) {
	body := chunkedOf("", bytes.Repeat([]byte("x"), 40<<10), []byte("yz"))
	head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, cut := range []int{1, 2, 3, 4, 5, 6, 10, 20000, len(body) - 1} {
		t.Run("cut="+strconv.Itoa(cut), func(t *testing.T) {
			_, b := openChunkedRes(t, []byte(head+string(body[:len(body)-cut])), 5000)
			framed, _, err := readAllFramed(b, 64<<10)
			if err == nil {
				t.Fatalf("ReadFramed ended cleanly after %d bytes of a truncated body", len(framed))
			}
			if !bytes.HasPrefix(body, framed) {
				t.Fatalf("framed bytes are not the body's")
			}
			if _, _, err2 := b.ReadFramed(make([]byte, MinFramedBuf)); err2 == nil || err2 == io.EOF {
				t.Fatalf("ReadFramed after the failure: %v; want the failure again", err2)
			}
		})
	}
}

// FuzzReadFramed compares ReadFramed with the body's own reading (Read)
// and with net/http's chunked reader: what ReadFramed passes as a whole
// body the others read the same (payload and trailer), and what either
// refuses it must refuse too, except a line longer than maxChunkLine only
// net/http refuses. The framing it hands out is the input's, as it came.
func FuzzReadFramed(f *testing.F) {
	for _, s := range []string{
		"2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n",
		"1\r\na\r\n0\r\nX-T: v\r\n\r\n",
		"5\r\nab",
		"2\nab\r\n0\r\n\r\n",
		"2\r\nab\n0\r\n\r\n",
		"002 \r\nab\r\n000;e\r\n\r\n",
		"1;" + strings.Repeat("e", maxChunkLine) + "\r\na\r\n0\r\n\r\n",
		"0000000000000001\r\na\r\n0\r\n\r\n",
		"1\r\na\r\n0\r\n\r\nHTTP/1.1",
	} {
		f.Add([]byte(s), uint16(7), uint16(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, piece, size uint16) {
		head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		in := append([]byte(head), data...)
		res, b := openChunkedRes(t, in, int(piece%9000)+1)
		framed, payload, err := readAllFramed(b, MinFramedBuf+int(size))
		trailer := res.Trailer
		if !bytes.HasPrefix(data, framed) {
			t.Fatalf("%q: framed %q is not the input as it came", data, framed)
		}
		res2, b2 := openChunkedRes(t, in, 4096)
		body, err2 := io.ReadAll(b2)
		goBody, goErr := goDechunk(data)
		if err != nil {
			if err2 == nil && goErr == nil {
				t.Fatalf("%q: ReadFramed refused (%v); Read and net/http read %q", data, err, body)
			}
			return
		}
		if err2 != nil {
			t.Fatalf("%q: ReadFramed passed %q; Read: %v", data, framed, err2)
		}
		got, gerr := goDechunk(append(framed, "0\r\n\r\n"...))
		if gerr != nil || !bytes.Equal(got, body) || payload != len(body) {
			t.Fatalf("%q: ReadFramed passed %q (payload %d, %v); Read read %q", data, framed, payload, gerr, body)
		}
		if !reflect.DeepEqual(trailer, res2.Trailer) {
			t.Fatalf("%q: trailer %q; Read's %q", data, trailer, res2.Trailer)
		}
		if goErr != nil {
			if strings.Contains(goErr.Error(), "too much non-data") {
				return // net/http's budget for framing, which neither reader keeps
			}
			t.Fatalf("%q: ReadFramed passed %q; net/http: %v", data, framed, goErr)
		}
		if !bytes.Equal(goBody, body) {
			t.Fatalf("%q: payload %q; net/http %q", data, body, goBody)
		}
	})
}

// TestReadFramedLongTrailer: a trailer longer than the read buffer comes
// back into a large read buffer as the last chunk's tail; a smaller buffer
// than that tail takes part of it, puts it back again, and the body ends
// with the whole trailer read.
func TestReadFramedLongTrailer(t *testing.T) {
	long := strings.Repeat("v", 3*MinFramedBuf)
	data := bytes.Repeat([]byte("d"), 2*bufSize) // the read buffer holds its start only
	body := chunkedOf("X-Long: "+long+"\r\n", data)
	end := len(body) - len("0\r\nX-Long: \r\n\r\n") - len(long)
	res, b := openChunkedRes(t, append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), body...), 1<<20)
	var framed []byte
	for len(framed) < end {
		p, _, err := b.ReadFramed(make([]byte, 64<<10))
		if err != nil {
			t.Fatalf("ReadFramed after %d bytes: %v", len(framed), err)
		}
		framed = append(framed, p...)
	}
	if !bytes.Equal(framed, body[:end]) {
		t.Fatalf("framed %d bytes; want the body's %d up to its last chunk", len(framed), end)
	}
	if _, _, err := b.ReadFramed(make([]byte, MinFramedBuf)); err != io.EOF {
		t.Fatalf("ReadFramed at the last chunk: %v; want io.EOF", err)
	}
	if got := res.Trailer.Get("X-Long"); got != long {
		t.Fatalf("trailer X-Long: %d bytes; want %d", len(got), len(long))
	}
	if b.f.keep {
		t.Fatalf("keep = true; want false (the read buffer grew to take the trailer back)")
	}
}
