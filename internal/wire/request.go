package wire

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
)

// omitRequestField reports the request fields writeFields leaves out
// besides the framing's: Host (written first) and an empty User-Agent (set
// to "" to send none, as net/http).
func omitRequestField(k string, vv []string) bool {
	return k == "Host" || k == "User-Agent" && (len(vv) == 0 || vv[0] == "")
}

// writeFields writes h's fields, each key and value checked, but those
// the framing owns (Content-Length, Transfer-Encoding, Trailer: the writer
// of the start line decides them) and those omit names. It serves a
// request head and a response head alike.
func writeFields(w *bufio.Writer, h http.Header, omit func(key string, vv []string) bool) error {
	for k, vv := range h {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if omit != nil && omit(k, vv) {
			continue
		}
		if !validHeaderKey(k) {
			return fmt.Errorf("invalid header field name %q", k)
		}
		for _, v := range vv {
			if !validHeaderValue(v) {
				return fmt.Errorf("invalid header field value for %q", k)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	return nil
}

// writeRequestHead writes the request line and header, and reports
// whether the body goes chunked.
func writeRequestHead(w *bufio.Writer, req *http.Request, body io.ReadCloser) (chunked bool, err error) {
	method := req.Method
	if method == "" {
		method = "GET"
	}
	w.WriteString(method)
	w.WriteByte(' ')
	u := req.URL
	if u.Opaque != "" {
		w.WriteString(u.Opaque)
	} else {
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		w.WriteString(p)
	}
	if u.ForceQuery || u.RawQuery != "" {
		w.WriteByte('?')
		w.WriteString(u.RawQuery)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	host := req.Host
	if host == "" {
		host = u.Host
	}
	if !validHeaderValue(host) {
		return false, fmt.Errorf("invalid Host %q", host)
	}
	w.WriteString(host)
	w.WriteString("\r\n")
	if err := writeFields(w, req.Header, omitRequestField); err != nil {
		return false, err
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	switch {
	case body == nil:
		switch method {
		case "POST", "PUT", "PATCH":
			w.WriteString("Content-Length: 0\r\n")
		}
	case req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), req.ContentLength, 10))
		w.WriteString("\r\n")
	default:
		chunked = true
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, err = w.WriteString("\r\n")
	return chunked, err
}

// writeBody sends the request body, exactly n bytes or (chunked) each
// piece as one chunk as it comes (an upload may be a stream), with copy's
// loop: a body that ends early is a read failure wrapping
// io.ErrUnexpectedEOF. A chunked body that is a [FramedReader] (the
// [RequestReader]'s) goes with the client's own framing (writeFramed). It
// closes body when done.
func writeBody(w *bufio.Writer, body io.ReadCloser, n int64, chunked bool) error {
	defer body.Close()
	if !chunked {
		if _, err := bodycopy.Pooled.Copy(context.Background(), w, body, n); err != nil {
			return err
		}
		return w.Flush()
	}
	if fr, ok := body.(FramedReader); ok {
		return writeFramed(w, fr)
	}
	cw := ChunkWriter{W: w}
	if _, err := bodycopy.Pooled.Copy(context.Background(), &cw, body, -1); err != nil {
		return err
	}
	return cw.End(nil)
}

// FramedReader is a chunked body that hands out its chunks with their
// framing, validated, to be sent on as they are (ReadFramed of the
// request and response bodies).
type FramedReader interface {
	ReadFramed(buf []byte) (framed []byte, payload int, err error)
}

// FramedBufs are buffers for ReadFramed: one read and one write for as
// many chunks as came together (a Unix socket's buffer holds about
// 200 KiB). Get returns a *[]byte.
var FramedBufs = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

// writeFramed sends a chunked request body with its own framing: what
// one read of the client brought goes out in one write, never re-chunked;
// the last chunk is written anew (the trailer, read into the request's
// Trailer, is not sent, as writeBody's chunks send none). Errors are
// copy's: which side failed.
func writeFramed(w *bufio.Writer, fr FramedReader) error {
	bp := FramedBufs.Get().(*[]byte)
	defer FramedBufs.Put(bp)
	for {
		framed, _, err := fr.ReadFramed(*bp)
		if len(framed) > 0 {
			_, werr := w.Write(framed)
			if werr == nil {
				werr = w.Flush()
			}
			if werr != nil {
				return &bodycopy.Error{Side: bodycopy.SideWrite, Err: werr}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return &bodycopy.Error{Side: bodycopy.SideRead, Err: err}
		}
	}
	cw := ChunkWriter{W: w}
	return cw.End(nil)
}
