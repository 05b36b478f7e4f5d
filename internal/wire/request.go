package wire

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
)

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
	for k, vv := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		case "User-Agent":
			if len(vv) == 0 || vv[0] == "" {
				continue // set to "" to send none, as net/http
			}
		}
		if !validHeaderKey(k) {
			return false, fmt.Errorf("invalid header field name %q", k)
		}
		for _, v := range vv {
			if !validHeaderValue(v) {
				return false, fmt.Errorf("invalid header field value for %q", k)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
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
// io.ErrUnexpectedEOF. It closes body when done.
func writeBody(w *bufio.Writer, body io.ReadCloser, n int64, chunked bool) error {
	defer body.Close()
	if !chunked {
		if _, err := bodycopy.Pooled.Copy(context.Background(), w, body, n); err != nil {
			return err
		}
		return w.Flush()
	}
	cw := ChunkWriter{W: w}
	if _, err := bodycopy.Pooled.Copy(context.Background(), &cw, body, -1); err != nil {
		return err
	}
	return cw.End(nil)
}
