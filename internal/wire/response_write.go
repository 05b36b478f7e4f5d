package wire

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
)

// WriteResponseHead writes a response head to w without allocating: the
// status line, h's fields (checked as a request's are; Content-Length,
// Transfer-Encoding and Trailer in h are skipped: the framing is the
// arguments'), the framing's fields and the empty line. It does not flush.
//
// The status line is "HTTP/1.1" (proto11) or "HTTP/1.0", then status, in
// http.Response.Status's form ("200 OK"), which must begin with code; an
// empty status writes code with its standard text. The framing's fields
// are "Content-Length: cl" when cl >= 0 and not chunked,
// "Transfer-Encoding: chunked" when chunked (HTTP/1.1 only), and
// "Connection: close" when close (unless h has it); an HTTP/1.0 response
// that keeps its connection gets "Connection: keep-alive" (unless h has
// it), which an HTTP/1.0 client needs to keep it. Choosing the framing is
// the caller's: no Content-Length for a 1xx, 204 or 304 response, and
// close for a body delimited by the connection's end.
func WriteResponseHead(w *bufio.Writer, proto11 bool, code int, status string, h http.Header, cl int64, chunked, close bool) error {
	if code < 100 || code > 999 {
		return fmt.Errorf("writing response head: invalid status code %d", code)
	}
	if chunked && !proto11 {
		return fmt.Errorf("writing response head: chunked framing in an HTTP/1.0 response")
	}
	if proto11 {
		w.WriteString("HTTP/1.1 ")
	} else {
		w.WriteString("HTTP/1.0 ")
	}
	switch std, ok := statusLines[code]; {
	case status == std && ok:
		w.WriteString(std)
	case status == "" && ok:
		w.WriteString(std)
	case status == "":
		w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(code), 10))
		w.WriteByte(' ')
	default:
		if !validStatus(code, status) {
			return fmt.Errorf("writing response head: invalid status %q for code %d", status, code)
		}
		w.WriteString(status)
	}
	w.WriteString("\r\n")
	if err := writeFields(w, h, nil); err != nil {
		return fmt.Errorf("writing response head: %w", err)
	}
	switch {
	case chunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case cl >= 0:
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), cl, 10))
		w.WriteString("\r\n")
	}
	if conn := h["Connection"]; close && !HasToken(conn, "close") {
		w.WriteString("Connection: close\r\n")
	} else if !close && !proto11 && !HasToken(conn, "keep-alive") {
		w.WriteString("Connection: keep-alive\r\n")
	}
	_, err := w.WriteString("\r\n")
	return err
}

// validStatus reports whether status is "NNN" or "NNN reason" for code,
// with no control bytes.
func validStatus(code int, status string) bool {
	if len(status) < 3 || len(status) > 3 && status[3] != ' ' {
		return false
	}
	n := 0
	for i := 0; i < 3; i++ {
		if !isDigit(status[i]) {
			return false
		}
		n = n*10 + int(status[i]-'0')
	}
	return n == code && validHeaderValue(status)
}
