package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/wire"
)

// TestPlanResponse is the table of how a response's body reaches the
// client: framing, destination, copier and parking, for every kind of
// body, client and strategy the proxy meets.
func TestPlanResponse(t *testing.T) {
	const (
		tcp  = "tcp"
		unix = "unix"
	)
	type want struct {
		body, identity, stream, hide, park bool
		pooled                             bool // copied by Pooled, not the strategy
	}
	rawChunked := func() io.ReadCloser { return new(wire.ChunkedBody) } // spans, parkable
	stdBody := func() io.ReadCloser { return io.NopCloser(strings.NewReader("")) }
	cases := []struct {
		name     string
		method   string
		proto    int // client's HTTP/1.x minor version
		client   string
		status   int
		length   int64
		ctype    string
		trailer  bool
		body     func() io.ReadCloser
		strategy bodycopy.Strategy
		reqBody  bool
		parkIdle int64
		want     want
	}{
		{"json", "GET", 1, tcp, 200, 2, "application/json", false, stdBody, bodycopy.Pooled, false, 1, want{body: true}},
		{"head", "HEAD", 1, tcp, 200, 2, "application/json", false, stdBody, bodycopy.Pooled, false, 1, want{}},
		{"204", "POST", 1, tcp, 204, 0, "", false, stdBody, bodycopy.Pooled, false, 1, want{}},
		{"304", "GET", 1, tcp, 304, 0, "", false, stdBody, bodycopy.Pooled, false, 1, want{}},
		{"blob-splice-tcp", "GET", 1, tcp, 200, 1 << 20, "application/octet-stream", false, stdBody, bodycopy.Splice, false, 1, want{body: true}},
		{"blob-splice-unix", "GET", 1, unix, 200, 1 << 20, "application/octet-stream", false, stdBody, bodycopy.Splice, false, 1, want{body: true, hide: true}},
		{"save-raw-splice", "GET", 1, tcp, 200, -1, "application/x-tar", false, rawChunked, bodycopy.SpliceChunked, false, 1, want{body: true, identity: true}},
		{"save-raw-splice-unix", "GET", 1, unix, 200, -1, "application/x-tar", false, rawChunked, bodycopy.SpliceChunked, false, 1, want{body: true, stream: true, park: true}},
		{"save-raw-splice-http10", "GET", 0, tcp, 200, -1, "application/x-tar", false, rawChunked, bodycopy.SpliceChunked, false, 1, want{body: true, stream: true}},
		{"save-raw-splice-trailer", "GET", 1, tcp, 200, -1, "application/x-tar", true, rawChunked, bodycopy.SpliceChunked, false, 1, want{body: true, stream: true, pooled: true, park: true}},
		{"save-std-splice", "GET", 1, tcp, 200, -1, "application/x-tar", false, stdBody, bodycopy.SpliceChunked, false, 1, want{body: true, stream: true}},
		{"save-raw-pooled", "GET", 1, tcp, 200, -1, "application/x-tar", false, rawChunked, bodycopy.Pooled, false, 1, want{body: true, stream: true, pooled: true, park: true}},
		{"events-raw-splice", "GET", 1, tcp, 200, -1, "application/json", false, rawChunked, bodycopy.SpliceChunked, false, 1, want{body: true, stream: true, pooled: true, park: true}},
		{"events-raw-never-park", "GET", 1, tcp, 200, -1, "application/json", false, rawChunked, bodycopy.Pooled, false, -1, want{body: true, stream: true, pooled: true}},
		{"events-raw-request-body", "POST", 1, tcp, 200, -1, "application/json", false, rawChunked, bodycopy.Pooled, true, 1, want{body: true, stream: true, pooled: true}},
		{"events-raw-http10", "GET", 0, tcp, 200, -1, "application/json", false, rawChunked, bodycopy.Pooled, false, 1, want{body: true, stream: true, pooled: true}},
		{"events-std", "GET", 1, tcp, 200, -1, "application/json", false, stdBody, bodycopy.Pooled, false, 1, want{body: true, stream: true, pooled: true}},
		{"sse-with-length", "GET", 1, tcp, 200, 10, "text/event-stream; charset=utf-8", false, stdBody, bodycopy.Pooled, false, 1, want{body: true, stream: true}},
		{"readerfrom-unix", "GET", 1, unix, 200, 2, "application/json", false, stdBody, bodycopy.ReaderFrom, false, 1, want{body: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := (&http.Request{Method: tc.method, ProtoMajor: 1, ProtoMinor: tc.proto, Header: http.Header{}})
			var addr net.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2375}
			if tc.client == unix {
				addr = &net.UnixAddr{Name: "/run/sockproxy.sock", Net: "unix"}
			}
			req = req.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, addr))
			res := &http.Response{StatusCode: tc.status, ContentLength: tc.length, Header: http.Header{}, Body: tc.body()}
			if tc.ctype != "" {
				res.Header.Set("Content-Type", tc.ctype)
			}
			if tc.trailer {
				res.Trailer = http.Header{"X-T": nil}
			}
			pl := planResponse(req, res, tc.strategy, tc.reqBody, tc.parkIdle)
			got := want{body: pl.body, identity: pl.identity, stream: pl.stream, hide: pl.hideReaderFrom, park: pl.park != nil}
			wantCopier := tc.strategy.Name()
			if tc.want.pooled {
				wantCopier = bodycopy.Pooled.Name()
			}
			got.pooled = tc.want.pooled // compared by name below
			if got != tc.want || pl.copier.Name() != wantCopier {
				t.Errorf("plan %+v, copier %s; want %+v, copier %s", got, pl.copier.Name(), tc.want, wantCopier)
			}
		})
	}
}
