package upstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// bufPool holds 32 KiB buffers for reading request bodies and stdin.
var bufPool = sync.Pool{New: func() any { b := make([]byte, pieceSize+frameHeaderSize); return &b }}

// drain reads and discards the rest of the request body, as dockerd's JSON
// decoding does before it answers or hijacks.
func drain(r *http.Request) {
	bp := bufPool.Get().(*[]byte)
	io.CopyBuffer(io.Discard, struct{ io.Reader }{r.Body}, *bp)
	bufPool.Put(bp)
}

// abort ends the response abruptly: net/http closes the connection without
// finishing the body, so the client sees a short Content-Length body or a
// chunked body without its terminating chunk.
func abort(w http.ResponseWriter) {
	flush(w)
	panic(http.ErrAbortHandler)
}

// failAfter parses the fail_after knob: the number of body bytes after
// which the connection is closed, or -1.
func failAfter(w http.ResponseWriter, q string) (int64, bool) {
	if q == "" {
		return -1, true
	}
	return sizeParam(w, q, "fail_after", -1)
}

// blob answers /_lab/blob?size=SIZE: a Content-Length body of Content(size).
func (h *handler) blob(w http.ResponseWriter, r *http.Request) {
	q := r.URL.RawQuery
	size, limit, ok := bodyParams(w, q, 0)
	if !ok {
		return
	}
	hd := w.Header()
	dockerHeaders(hd)
	hd["Content-Type"] = hdrOctets
	hd["Content-Length"] = lengthHeader(size)
	b := block()
	for off := int64(0); off < limit; {
		start := off % blockSize
		n, err := w.Write(b[start:min(blockSize, start+limit-off)])
		off += int64(n)
		if err != nil {
			return
		}
	}
	if limit < size {
		abort(w)
	}
}

// lengths caches Content-Length header values, so that serving a blob
// allocates nothing; at most maxLengths sizes are kept.
var lengths struct {
	sync.Mutex
	m map[int64][]string
}

const maxLengths = 1024

// lengthHeader returns the Content-Length header value for size.
func lengthHeader(size int64) []string {
	lengths.Lock()
	defer lengths.Unlock()
	if v, ok := lengths.m[size]; ok {
		return v
	}
	v := []string{strconv.FormatInt(size, 10)}
	if lengths.m == nil {
		lengths.m = make(map[int64][]string)
	}
	if len(lengths.m) < maxLengths {
		lengths.m[size] = v
	}
	return v
}

// bodyParams parses the size (default def) and fail_after knobs of a body
// endpoint and returns the size and how many bytes to write before
// aborting (the size itself when fail_after is absent or beyond it). A bad
// knob has been answered with a 400 when ok is false.
func bodyParams(w http.ResponseWriter, q string, def int64) (size, limit int64, ok bool) {
	if size, ok = sizeParam(w, q, "size", def); !ok {
		return 0, 0, false
	}
	fail, ok := failAfter(w, q)
	if !ok {
		return 0, 0, false
	}
	limit = size
	if fail >= 0 && fail < size {
		limit = fail
	}
	return size, limit, true
}

// tar answers an image save or a container export: Content(size) as a
// chunked body of 32 KiB chunks, each flushed, as dockerd writes them.
// contentType is dockerd's: application/x-tar for a save,
// application/octet-stream for an export.
func (h *handler) tar(w http.ResponseWriter, r *http.Request, contentType []string) {
	q := r.URL.RawQuery
	size, limit, ok := bodyParams(w, q, 1<<20)
	if !ok {
		return
	}
	hd := w.Header()
	dockerHeaders(hd)
	hd["Content-Type"] = contentType
	w.WriteHeader(http.StatusOK)
	b := block()
	for off := int64(0); off < limit; {
		start := off % blockSize
		n := min(pieceSize, limit-off)
		if _, err := w.Write(b[start : start+n]); err != nil {
			return
		}
		flush(w)
		off += n
	}
	if limit < size {
		abort(w)
	}
	if size == 0 {
		flush(w)
	}
}

// events answers /events?every=DUR&count=N: headers at once, then one
// container event per line, each in its own flushed chunk, carrying its
// send time. every defaults to 1s; without count the stream lasts until the
// client leaves.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.RawQuery
	every, ok := durationParam(w, q, "every")
	if !ok {
		return
	}
	if param(q, "every") == "" {
		every = time.Second
	}
	count, ok := countParam(w, q, "count", -1)
	if !ok {
		return
	}
	hd := w.Header()
	dockerHeaders(hd)
	hd["Content-Type"] = hdrJSON
	w.WriteHeader(http.StatusOK)
	flush(w)
	ctx := r.Context()
	var t *time.Ticker
	if every > 0 {
		t = time.NewTicker(every)
		defer t.Stop()
	}
	buf := make([]byte, 0, 512)
	for i := int64(0); count < 0 || i < count; i++ {
		if i > 0 && t != nil {
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		buf = appendEvent(buf[:0], i, time.Now())
		if _, err := w.Write(buf); err != nil {
			return
		}
		flush(w)
	}
}

// eventActions cycles through a container's life.
var eventActions = [...]string{"create", "start", "die", "destroy"}

// appendEvent appends event i, sent at now, in dockerd's shape: the legacy
// status/id/from fields, then Type, Action, Actor, scope, time, timeNano.
func appendEvent(b []byte, i int64, now time.Time) []byte {
	action := eventActions[i%int64(len(eventActions))]
	n := int(i / int64(len(eventActions)))
	var id [64]byte
	sum := sha256.Sum256(strconv.AppendInt([]byte("container-"), int64(n), 10))
	hex.Encode(id[:], sum[:])
	b = append(b, `{"status":"`...)
	b = append(b, action...)
	b = append(b, `","id":"`...)
	b = append(b, id[:]...)
	b = append(b, `","from":"lab/busybox","Type":"container","Action":"`...)
	b = append(b, action...)
	b = append(b, `","Actor":{"ID":"`...)
	b = append(b, id[:]...)
	b = append(b, `","Attributes":{"image":"lab/busybox","name":"sim-`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `"}},"scope":"local","time":`...)
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, `,"timeNano":`...)
	b = strconv.AppendInt(b, now.UnixNano(), 10)
	return append(b, "}\n"...)
}

// logs answers /containers/{id}/logs: multiplexed frames of deterministic
// text lines, alternating stdout and stderr, each frame in its own flushed
// chunk. lines=N sets the count (default 10; with follow=1 and no lines, the
// stream lasts until the client leaves); every=DUR paces them.
func (h *handler) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.RawQuery
	follow := param(q, "follow")
	following := follow == "1" || follow == "true"
	def := int64(10)
	if following {
		def = -1
	}
	lines, ok := countParam(w, q, "lines", def)
	if !ok {
		return
	}
	every, ok := durationParam(w, q, "every")
	if !ok {
		return
	}
	fail, ok := failAfter(w, q)
	if !ok {
		return
	}
	// dockerd 20.10 (API 1.41) sends logs without a Content-Type.
	dockerHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	flush(w)
	ctx := r.Context()
	var t *time.Ticker
	if every > 0 {
		t = time.NewTicker(every)
		defer t.Stop()
	}
	buf := make([]byte, 0, 64)
	var sent int64
	for i := int64(0); lines < 0 || i < lines; i++ {
		if i > 0 && t != nil {
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		buf = appendLogFrame(buf[:0], i)
		if fail >= 0 && sent+int64(len(buf)) > fail {
			w.Write(buf[:fail-sent])
			abort(w)
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		sent += int64(len(buf))
		flush(w)
	}
}

// appendLogFrame appends log line i as a frame: even lines on stdout,
// odd lines on stderr, text "log line I on stdout|stderr\n".
func appendLogFrame(b []byte, i int64) []byte {
	stream, name := Stdout, "stdout"
	if i%2 == 1 {
		stream, name = Stderr, "stderr"
	}
	b = append(b, make([]byte, frameHeaderSize)...)
	b = append(b, "log line "...)
	b = strconv.AppendInt(b, i, 10)
	b = append(b, " on "...)
	b = append(b, name...)
	b = append(b, '\n')
	putFrameHeader(b, stream, len(b)-frameHeaderSize)
	return b
}

// wait answers POST /containers/{id}/wait?delay=DUR as dockerd does:
// headers flushed at once, the body when the "container" exits.
func (h *handler) wait(w http.ResponseWriter, r *http.Request) {
	drain(r)
	delay, ok := durationParam(w, r.URL.RawQuery, "delay")
	if !ok {
		return
	}
	hd := w.Header()
	dockerHeaders(hd)
	hd["Content-Type"] = hdrJSON
	w.WriteHeader(http.StatusOK)
	flush(w)
	if delay > 0 && !sleep(r.Context(), delay) {
		return
	}
	w.Write(waitBody)
}

var waitBody = []byte(`{"Error":null,"StatusCode":0}` + "\n")

// load answers POST /images/load: it reads the whole body as it streams in
// and answers the sha256 of what it read; see readUpload for the knobs.
func (h *handler) load(w http.ResponseWriter, r *http.Request) {
	sum, ok := readUpload(w, r)
	if !ok {
		return
	}
	b := make([]byte, 0, 80)
	b = append(b, `{"sha256":"`...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, "\"}\n"...)
	writeJSON(w, http.StatusOK, b)
}

// archive answers PUT /containers/{id}/archive (docker cp into a
// container) as dockerd does once the tar is extracted: 200 with an empty
// body, after reading the whole body; see readUpload for the knobs.
func (h *handler) archive(w http.ResponseWriter, r *http.Request) {
	if _, ok := readUpload(w, r); !ok {
		return
	}
	dockerHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
}

// readUpload reads the whole request body (Content-Length or chunked) and
// returns its sha256. With check=content it compares the body with Content
// as it streams in instead of hashing it (the lab's uploads, where a hash
// would cost the upstream more CPU than the proxy under test spends), and
// with size=SIZE also checks its length; the sum is then ContentSHA256's,
// cached per size. A read error, a body that differs or a bad knob is
// answered with a 400 naming it, and ok is false.
func readUpload(w http.ResponseWriter, r *http.Request) (sum [32]byte, ok bool) {
	q := r.URL.RawQuery
	check := param(q, "check")
	if check != "" && check != "content" {
		badRequest(w, "invalid check "+strconv.Quote(check)+": want content")
		return sum, false
	}
	size, ok := sizeParam(w, q, "size", -1)
	if !ok {
		return sum, false
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if check == "" {
		h := sha256.New()
		if _, err := io.CopyBuffer(h, struct{ io.Reader }{r.Body}, *bp); err != nil {
			badRequest(w, "read body: "+err.Error())
			return sum, false
		}
		return [32]byte(h.Sum(nil)), true
	}
	c := contentCheck{bad: -1}
	if _, err := io.CopyBuffer(&c, struct{ io.Reader }{r.Body}, *bp); err != nil {
		badRequest(w, "read body after "+strconv.FormatInt(c.n, 10)+" bytes: "+err.Error())
		return sum, false
	}
	switch {
	case c.bad >= 0:
		badRequest(w, "body differs from the lab content at byte "+strconv.FormatInt(c.bad, 10))
		return sum, false
	case size >= 0 && c.n != size:
		badRequest(w, "body has "+strconv.FormatInt(c.n, 10)+" bytes; want "+strconv.FormatInt(size, 10))
		return sum, false
	}
	return ContentSHA256(c.n), true
}

// contentCheck is an io.Writer that compares what is written with Content:
// n counts the bytes, bad is the offset of the first byte that differs, or
// -1. It never fails, so the body is read to its end either way.
type contentCheck struct {
	n, bad int64
}

func (c *contentCheck) Write(p []byte) (int, error) {
	b := block()
	for done := 0; done < len(p); {
		start := c.n % blockSize
		m := min(len(p)-done, int(blockSize-start))
		if c.bad < 0 && !bytes.Equal(p[done:done+m], b[start:start+int64(m)]) {
			i := 0
			for p[done+i] == b[start+int64(i)] {
				i++
			}
			c.bad = c.n + int64(i)
		}
		c.n += int64(m)
		done += m
	}
	return len(p), nil
}
