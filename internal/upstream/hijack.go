package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
)

// The head of a hijacked attach or exec answer, byte for byte as dockerd
// 20.10 writes it: the status line, Content-Type, the upgrade headers when
// the client sent an Upgrade header; for exec start only, the middleware's
// headers; then the blank line.
const (
	upgradedHead = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" +
		"Connection: Upgrade\r\nUpgrade: tcp\r\n"
	plainHead         = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
	middlewareHeaders = "Api-Version: " + APIVersion + "\r\nDocker-Experimental: false\r\nOstype: linux\r\n" +
		"Server: Docker/" + ServerVersion + " (linux)\r\n"
)

// attach answers POST /containers/{id}/attach and POST /exec/{id}/start: it
// hijacks the connection (with or without the upgrade headers, as dockerd
// does), then echoes stdin as stdout frames until the client half-closes,
// then writes a final stderr frame "stdin closed after N bytes\n" and closes.
// exec says whether this is an exec start, whose head carries the
// middleware's headers.
func (h *handler) attach(w http.ResponseWriter, r *http.Request, exec bool) {
	drain(r) // exec start carries a JSON body; stdin follows it.
	_, upgrade := r.Header["Upgrade"]
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError,
			[]byte(`{"message":`+strconv.Quote("hijack: "+err.Error())+"}\n"))
		return
	}
	defer conn.Close()
	if h.t != nil {
		if !h.t.addConn(conn) {
			return
		}
		defer h.t.removeConn(conn)
	}
	head := plainHead
	if upgrade {
		head = upgradedHead
	}
	brw.WriteString(head)
	if exec {
		brw.WriteString(middlewareHeaders)
	}
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	echo(conn, brw.Reader)
}

// echo copies stdin (in, which starts with whatever the server had already
// buffered) to conn as stdout frames, one frame per read, each in one Write.
// On EOF it writes the final stderr frame.
func echo(conn net.Conn, in *bufio.Reader) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := in.Read(buf[frameHeaderSize:])
		if n > 0 {
			putFrameHeader(buf, Stdout, n)
			if _, werr := conn.Write(buf[:frameHeaderSize+n]); werr != nil {
				return
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return
		}
	}
	msg := strconv.AppendInt(append(buf[:frameHeaderSize], "stdin closed after "...), total, 10)
	msg = append(msg, " bytes\n"...)
	putFrameHeader(msg, Stderr, len(msg)-frameHeaderSize)
	conn.Write(msg)
}
