package wire

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
)

// frame sets res's body by its framing (RFC 9112 section 6.3), with
// ContentLength, TransferEncoding, Trailer and Close. On an invalid
// framing it ends the connection and fails.
func (rc *conn) frame(ctx context.Context, res *http.Response, req *http.Request, stop func() bool, wrote chan error) error {
	h := res.Header
	next := rc.nextBody // allocated with res
	rc.nextBody = nil
	keep := res.ProtoMinor == 1
	if cv, ok := h["Connection"]; ok {
		if HasToken(cv, "close") {
			keep = false
		} else if !keep && HasToken(cv, "keep-alive") {
			keep = true
		}
	}
	if req.Close {
		keep = false
	}
	// One allocation holds the body and its finisher.
	var f *finisher
	var (
		clBody      *lengthBody
		chunkedBody *ChunkedBody
		closed      *closeBody
	)
	noBody := req.Method == "HEAD" || res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotModified
	te, hasTE := h["Transfer-Encoding"]
	cl, hasCL := h["Content-Length"]
	switch {
	case noBody:
		f = new(finisher)
	case hasTE:
		chunkedBody = new(ChunkedBody)
		f = &chunkedBody.fin
	case hasCL:
		clBody = next
		if clBody == nil {
			clBody = new(lengthBody)
		}
		f = &clBody.fin
	default:
		closed = new(closeBody)
		f = &closed.fin
	}
	f.rc, f.ctx, f.stop, f.wrote, f.keep = rc, ctx, stop, wrote, keep

	var n int64 = -1
	if hasCL { // checked even when Transfer-Encoding overrides it
		for i, v := range cl {
			m, ok := ParseContentLength(v)
			if !ok || (i > 0 && m != n) {
				f.finish(false)
				return fmt.Errorf("%w: bad Content-Length %q", errMalformed, cl)
			}
			n = m
		}
		if len(cl) > 1 {
			h["Content-Length"] = cl[:1] // identical: relay one, as Go's transport does
		}
	}
	if hasTE {
		delete(h, "Transfer-Encoding")
		if hasCL {
			delete(h, "Content-Length") // RFC 9112 section 6.3: TE overrides
		}
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") || res.ProtoMinor == 0 {
			f.finish(false)
			return fmt.Errorf("%w: unsupported Transfer-Encoding %q", errMalformed, te)
		}
		res.TransferEncoding = chunkedTE
	}
	if tr, ok := h["Trailer"]; ok {
		delete(h, "Trailer")
		if hasTE && !noBody {
			for _, v := range tr {
				for k := range splitComma(v) {
					if k != "" {
						if res.Trailer == nil {
							res.Trailer = make(http.Header)
						}
						res.Trailer[textproto.CanonicalMIMEHeaderKey(k)] = nil
					}
				}
			}
		}
	}
	switch {
	case noBody:
		// As net/http: a HEAD response tells the length a GET would
		// have; 204 and 304 have none. Their header keeps Content-Length.
		res.ContentLength = 0
		if req.Method == "HEAD" {
			res.ContentLength = n
		}
		res.TransferEncoding = nil
		res.Body = http.NoBody
		if rc.br.Buffered() > 0 {
			f.keep = false // bytes after a bodiless response
		}
		f.finish(true)
	case hasTE:
		res.ContentLength = -1
		b := chunkedBody
		b.f, b.res = f, res
		res.Body = b
	case n >= 0:
		res.ContentLength = n
		b := clBody
		b.f = f
		k := int64(rc.br.Buffered())
		b.k = int(min(k, n))
		if k > n {
			f.keep = false // bytes after the body: the connection is out of step
		}
		b.lr = io.LimitedReader{R: rc.rd, N: n - int64(b.k)}
		if n == 0 {
			f.finish(true)
			b.finished.Store(true)
		}
		res.Body = b
	default:
		res.ContentLength = -1
		f.keep = false
		b := closed
		b.f = f
		res.Body = b
	}
	res.Close = !f.keep
	return nil
}

var chunkedTE = []string{"chunked"}

// ParseContentLength parses a Content-Length value: 1 to 18 decimal
// digits, nothing else.
func ParseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
