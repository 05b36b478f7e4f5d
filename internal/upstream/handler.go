package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sockproxylab/sockproxy/internal/units"
)

// APIVersion is the Engine API version the simulator announces in the
// Api-Version header and in /version: that of dockerd 20.10, the daemon its
// framing was recorded from.
const APIVersion = "1.41"

// ServerVersion is the engine version the simulator reports in /version,
// /info and the Server header.
const ServerVersion = "20.10.24+sockproxy.sim"

// Header values shared by every response, assigned to header maps directly so
// that a request does not allocate them. net/http never modifies them.
var (
	hdrAPIVersion   = []string{APIVersion}
	hdrExperimental = []string{"false"}
	hdrOstype       = []string{"linux"}
	hdrServer       = []string{"Docker/" + ServerVersion + " (linux)"}
	hdrNoCache      = []string{"no-cache, no-store, must-revalidate"}
	hdrPragma       = []string{"no-cache"}
	hdrText         = []string{"text/plain; charset=utf-8"}
	hdrJSON         = []string{"application/json"}
	hdrTar          = []string{"application/x-tar"}
	hdrOctets       = []string{"application/octet-stream"}
	hdrLength2      = []string{"2"}
	hdrLength0      = []string{"0"}
)

// handler serves the simulator's endpoints. t is nil for NewHandler; a
// Server sets it so that it can wait for handlers and close hijacked
// connections.
type handler struct {
	t       *tracker
	pings   atomic.Uint64 // /_ping requests that carried slow_every
	created atomic.Uint64 // containers POST /containers/create made up
}

// NewHandler returns the simulator as an http.Handler: every endpoint of the
// package documentation, with or without a /v1.NN version prefix. It keeps no
// per-connection state; hijacked connections it serves are closed when their
// exchange ends, not by any Close (use Start for that).
func NewHandler() http.Handler { return &handler{} }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.t != nil {
		if !h.t.enter() {
			panic(http.ErrAbortHandler)
		}
		defer h.t.leave()
	}
	q := r.URL.RawQuery
	if q != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if d, ok := durationParam(w, q, "delay"); !ok {
			return
		} else if d > 0 && !sleep(r.Context(), d) {
			return
		}
	}
	p := trimVersion(r.URL.Path)
	get := r.Method == http.MethodGet
	post := r.Method == http.MethodPost
	switch p {
	case "/_ping":
		if get || r.Method == http.MethodHead {
			h.ping(w, r)
			return
		}
	case "/version":
		if get {
			writeJSON(w, http.StatusOK, versionBody())
			return
		}
	case "/info":
		if get {
			writeJSON(w, http.StatusOK, infoBody())
			return
		}
	case "/events":
		if get {
			h.events(w, r)
			return
		}
	case "/containers/json":
		if get {
			h.list(w, r, containerEntry)
			return
		}
	case "/images/json":
		if get {
			h.list(w, r, imageEntry)
			return
		}
	case "/containers/create":
		if post {
			h.create(w, r)
			return
		}
	case "/images/load":
		if post {
			h.load(w, r)
			return
		}
	case "/images/get":
		if get {
			h.tar(w, r, hdrTar)
			return
		}
	case "/_lab/blob":
		if get {
			h.blob(w, r)
			return
		}
	}
	if rest, ok := strings.CutPrefix(p, "/containers/"); ok {
		if id, action, ok := strings.Cut(rest, "/"); ok && id != "" {
			switch {
			case get && action == "json":
				writeInspect(w, id)
				return
			case get && action == "export":
				h.tar(w, r, hdrOctets)
				return
			case get && action == "logs":
				h.logs(w, r)
				return
			case post && action == "wait":
				h.wait(w, r)
				return
			case post && action == "attach":
				h.attach(w, r, false)
				return
			case post && action == "exec":
				h.createExec(w, r)
				return
			case r.Method == http.MethodPut && action == "archive":
				h.archive(w, r)
				return
			case post && action == "start":
				dockerHeaders(w.Header())
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	if rest, ok := strings.CutPrefix(p, "/images/"); ok && get {
		// Image names contain slashes: /images/lab/busybox/get.
		if name, ok := strings.CutSuffix(rest, "/get"); ok && name != "" {
			h.tar(w, r, hdrTar)
			return
		}
	}
	if rest, ok := strings.CutPrefix(p, "/exec/"); ok && post {
		if id, ok := strings.CutSuffix(rest, "/start"); ok && id != "" && !strings.Contains(id, "/") {
			h.attach(w, r, true)
			return
		}
	}
	notFound(w)
}

// trimVersion strips a "/v1.41"-style prefix from an API path.
func trimVersion(p string) string {
	if len(p) < 3 || p[1] != 'v' {
		return p
	}
	i := 2
	for i < len(p) && (p[i] >= '0' && p[i] <= '9' || p[i] == '.') {
		i++
	}
	if i == 2 || i == len(p) || p[i] != '/' || strings.IndexByte(p[2:i], '.') < 0 {
		return p
	}
	return p[i:]
}

// dockerHeaders sets the headers dockerd's version middleware adds to every
// routed response (not to 404s for unknown paths).
func dockerHeaders(h http.Header) {
	h["Api-Version"] = hdrAPIVersion
	h["Docker-Experimental"] = hdrExperimental
	h["Ostype"] = hdrOstype
	h["Server"] = hdrServer
}

// notFound answers an unknown path or method as dockerd's router does:
// 404, JSON, no Docker headers.
func notFound(w http.ResponseWriter) {
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(http.StatusNotFound)
	w.Write(pageNotFound)
}

var pageNotFound = []byte(`{"message":"page not found"}` + "\n")

// writeJSON writes body (which ends in a newline, as json.Encoder writes)
// in one Write, as dockerd's httputils.WriteJSON does, so net/http frames it
// as dockerd's would be: Content-Length up to 2048 bytes, chunked above.
func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	dockerHeaders(h)
	h["Content-Type"] = hdrJSON
	w.WriteHeader(code)
	w.Write(body)
}

// badRequest answers a malformed knob as dockerd answers a bad parameter.
func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, []byte(`{"message":`+strconv.Quote(msg)+"}\n"))
}

// param returns the value of key in the raw query q without building a
// url.Values, so that requests without knobs allocate nothing for them.
func param(q, key string) string {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if u, err := url.QueryUnescape(v); err == nil {
				return u
			}
		}
		return v
	}
	return ""
}

// durationParam parses the duration knob key, answering 400 when malformed.
func durationParam(w http.ResponseWriter, q, key string) (time.Duration, bool) {
	s := param(q, key)
	if s == "" {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		badRequest(w, "invalid "+key+" "+strconv.Quote(s)+": want a Go duration such as 10ms")
		return 0, false
	}
	return d, true
}

// sizeParam parses the size knob key (bytes or an IEC size), answering 400
// when malformed. def is the value when absent.
func sizeParam(w http.ResponseWriter, q, key string, def int64) (int64, bool) {
	s := param(q, key)
	if s == "" {
		return def, true
	}
	n, err := units.ParseSize(s)
	if err != nil {
		badRequest(w, "invalid "+key+": "+err.Error())
		return 0, false
	}
	return n, true
}

// countParam parses the non-negative integer knob key, answering 400 when
// malformed. def is the value when absent.
func countParam(w http.ResponseWriter, q, key string, def int64) (int64, bool) {
	s := param(q, key)
	if s == "" {
		return def, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		badRequest(w, "invalid "+key+" "+strconv.Quote(s)+": want a non-negative integer")
		return 0, false
	}
	return n, true
}

// sleep waits for d, or until ctx ends (the client left, or the Server is
// closing). It reports whether the full delay passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// flush sends what the handler wrote so far, headers included.
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// ping answers /_ping as dockerd does: "OK" with Content-Length 2 for GET;
// for HEAD, dockerd sets Content-Length: 0 itself.
func (h *handler) ping(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.RawQuery; q != "" {
		every, ok := countParam(w, q, "slow_every", 0)
		if !ok {
			return
		}
		slow, ok := durationParam(w, q, "slow")
		if !ok {
			return
		}
		if every > 0 && h.pings.Add(1)%uint64(every) == 0 && slow > 0 && !sleep(r.Context(), slow) {
			return
		}
	}
	hd := w.Header()
	dockerHeaders(hd)
	hd["Cache-Control"] = hdrNoCache
	hd["Pragma"] = hdrPragma
	hd["Content-Type"] = hdrText
	if r.Method == http.MethodHead {
		hd["Content-Length"] = hdrLength0
		return
	}
	hd["Content-Length"] = hdrLength2
	w.Write(okBody)
}

var okBody = []byte("OK")
