package loadgen

import (
	"context"
	"testing"
	"time"
)

// BenchmarkClient measures the client side of one ping (and one 64KiB blob)
// against the in-process fake, for the raw and the net/http client: the
// allocations are the client's own cost per request.
func BenchmarkClient(b *testing.B) {
	url := serve(b, newFake(), "unix")
	for _, client := range []string{"raw", "std"} {
		b.Run("client="+client+"/shape=ping", func(b *testing.B) {
			benchClient(b, url, client == "std", httpReq{path: "/_ping", want: 2})
		})
		b.Run("client="+client+"/shape=blob/size=64KiB", func(b *testing.B) {
			benchClient(b, url, client == "std", httpReq{path: "/_lab/blob?size=65536", want: 65536})
		})
	}
}

func benchClient(b *testing.B, url string, std bool, req httpReq) {
	e := &env{target: mustTargetB(b, url), timeout: time.Minute, stdClient: std}
	e.client = e.target.client(1, time.Minute)
	defer e.client.CloseIdleConnections()
	c := (&httpScenario{e: e, reqs: []httpReq{req}}).NewConn(0)
	defer c.Close()
	ctx := context.Background()
	if req.want > 0 {
		b.SetBytes(req.want)
	}
	b.ReportAllocs()
	for b.Loop() {
		if out := c.Do(ctx); out.Err != nil {
			b.Fatal(out.Err)
		}
	}
}

func mustTargetB(b *testing.B, url string) Target {
	b.Helper()
	tg, err := ParseTarget(url)
	if err != nil {
		b.Fatal(err)
	}
	return tg
}
