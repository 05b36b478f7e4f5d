package bench

import (
	"bufio"
	"bytes"

	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/units"
	"github.com/sockproxylab/sockproxy/internal/upstream"
	"github.com/sockproxylab/sockproxy/proxy"
)

// A shape is one kind of Docker API traffic.
type shape struct {
	name  string
	sizes []int64 // nil: the shape has no size key
	concs []int   // nil: the shape has no conc key (it runs at conc 1)
	// path returns the request path for a size.
	path func(b *testing.B, size int64) string
	// big shapes report cpu-ns/B.
	big bool
	// upload shapes POST a body of the size (Content(size), which the
	// simulator checks) instead of GETting one; uploadChunked sends it
	// without a Content-Length, so net/http's client chunks it.
	upload upload
}

// upload says whether and how a shape sends its body.
type upload int

const (
	noUpload      upload = iota
	uploadLength         // Content-Length body
	uploadChunked        // chunked body, 32 KiB chunks (net/http's io.Copy buffer), as docker load sends a file
)

var shapes = []shape{
	{name: "ping", concs: []int{1, 64}, path: func(*testing.B, int64) string { return "/_ping" }},
	{name: "json", sizes: []int64{1536, 64 << 10}, concs: []int{1, 64},
		path: func(_ *testing.B, n int64) string { return "/containers/json?size=" + strconv.FormatInt(n, 10) }},
	{name: "blob", sizes: []int64{64 << 10, 1 << 20, 64 << 20}, big: true,
		path: func(_ *testing.B, n int64) string { return "/_lab/blob?size=" + strconv.FormatInt(n, 10) }},
	{name: "chunked", sizes: []int64{1 << 20, 64 << 20}, big: true,
		path: func(_ *testing.B, n int64) string { return "/images/lab/get?size=" + strconv.FormatInt(n, 10) }},
	{name: "upgrade", sizes: []int64{64}},
	{name: "load", sizes: []int64{64 << 20}, big: true, upload: uploadLength, path: loadPath},
	{name: "load-chunked", sizes: []int64{64 << 20}, big: true, upload: uploadChunked, path: loadPath},
}

// loadPath is the path of an upload of n bytes: docker load's endpoint,
// which with these knobs compares the body with the simulator's content
// (a hash would cost more CPU than the proxy under test) and its length.
func loadPath(_ *testing.B, n int64) string {
	return "/images/load?check=content&size=" + strconv.FormatInt(n, 10)
}

// row is one strategy × transport of the benchmark: the floor ("direct",
// no proxy) or one of proxy.Setups().
type row struct {
	direct bool
	setup  proxy.Setup // the proxy's, when not direct
}

// rows are the benchmark's rows in presentation order: the floor, then
// every proxy setup (each mode over std, then over raw where it runs).
func rows() []row {
	out := []row{{direct: true}}
	for _, s := range proxy.Setups() {
		out = append(out, row{setup: s})
	}
	return out
}

// strategy is the row's strategy key: "direct" or the proxy's mode.
func (r row) strategy() string {
	if r.direct {
		return "direct"
	}
	return r.setup.Mode
}

// transport is the row's transport key: "raw", or "" (the key omitted)
// for std and for the floor.
func (r row) transport() string {
	if r.direct || r.setup.Transport == proxy.TransportStd {
		return ""
	}
	return r.setup.Transport
}

// policies returns the policy values for a strategy, transport and shape:
// "" (no policy, the key omitted), then "traefik" (the preset, which grants
// /_ping and /containers/json) for the default mode over raw on the small
// GET shapes, so that the policy's cost per request is the difference of
// two rows of one run.
func policies(st, tr, shape string) []string {
	if st == proxy.DefaultMode && tr == proxy.TransportRaw && (shape == "ping" || shape == "json") {
		return []string{"", "traefik"}
	}
	return []string{""}
}

// metricsKeys returns the metrics values for a strategy, transport and
// shape: "" (no Observer, the key omitted), then "on" (internal/metrics,
// as -metrics serves it) for the default mode over raw on the small GET
// shapes, so that the metrics' cost per request is the difference of two
// rows of one run.
func metricsKeys(st, tr, shape string) []string {
	if st == proxy.DefaultMode && tr == proxy.TransportRaw && (shape == "ping" || shape == "json") {
		return []string{"", "on"}
	}
	return []string{""}
}

// policyMetrics is the policy × metrics rows of a strategy, transport and
// shape: every policy without metrics, then metrics without a policy (the
// cost of each alone against the same row without either).
func policyMetrics(st, tr, shape string) [][2]string {
	var rows [][2]string
	for _, pol := range policies(st, tr, shape) {
		rows = append(rows, [2]string{pol, ""})
	}
	for _, met := range metricsKeys(st, tr, shape)[1:] {
		rows = append(rows, [2]string{"", met})
	}
	return rows
}

// BenchmarkProxy measures a request (or an upgraded echo round trip) through
// each strategy; see the package doc for names and metrics.
func BenchmarkProxy(b *testing.B) {
	for _, sh := range shapes {
		sizes := sh.sizes
		if sizes == nil {
			sizes = []int64{-1}
		}
		concs := sh.concs
		if concs == nil {
			concs = []int{0}
		}
		for _, size := range sizes {
			for _, conc := range concs {
				for _, r := range rows() {
					st, tr := r.strategy(), r.transport()
					for _, pm := range policyMetrics(st, tr, sh.name) {
						pol, met := pm[0], pm[1]
						name := "strategy=" + st
						if tr != "" {
							name += "/transport=" + tr
						}
						if pol != "" {
							name += "/policy=" + pol
						}
						if met != "" {
							name += "/metrics=" + met
						}
						name += "/shape=" + sh.name
						if size >= 0 {
							name += "/size=" + units.FormatSize(size)
						}
						if conc > 0 {
							name += "/conc=" + strconv.Itoa(conc)
						}
						b.Run(name, func(b *testing.B) {
							t := targetFor(b, r, pol, met)
							if sh.name == "upgrade" {
								benchUpgrade(b, t, st, int(size))
								return
							}
							benchRequest(b, t, st, sh, size, max(conc, 1))
						})
					}
				}
			}
		}
	}
}

// benchRequest runs GETs of sh at size through t, conc at a time, or,
// for an upload shape, POSTs of a body of that size.
func benchRequest(b *testing.B, t *target, st string, sh shape, size int64, conc int) {
	path := sh.path(b, size)
	url := t.baseURL + path
	fetch := fetch
	if sh.upload != noUpload {
		fetch = func(b *testing.B, t *target, url string, _ int64) int64 { return post(b, t, url, size, sh.upload) }
	}
	want := fetch(b, t, url, -1) // warm up one connection, learn the length
	defer spliceMetrics(b, st)()
	b.ReportAllocs()
	if size >= 0 {
		b.SetBytes(want)
	}
	cpu0 := cpuTime()
	if conc == 1 {
		for b.Loop() {
			fetch(b, t, url, want)
		}
	} else {
		lat := parallel(b, conc, func() { fetch(b, t, url, want) })
		b.ReportMetric(float64(percentile(lat, 0.99).Nanoseconds()), "p99-ns")
	}
	if sh.big {
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(int64(b.N)*want), "cpu-ns/B")
	}
}

// bufs recycles drain buffers so the client's own allocations stay flat.
var bufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// fetch GETs url and drains the body, failing the benchmark on any error or
// on a body of another length than want (when want >= 0). It returns the
// body length.
func fetch(b *testing.B, t *target, url string, want int64) int64 {
	resp, err := t.client.Get(url)
	if err != nil {
		b.Fatalf("GET %s: %v", url, err)
	}
	bp := bufs.Get().(*[]byte)
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{resp.Body}, *bp)
	bufs.Put(bp)
	resp.Body.Close()
	if err != nil {
		b.Fatalf("GET %s: reading body after %d bytes: %v", url, n, err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %s", url, resp.Status)
	}
	if want >= 0 && n != want {
		b.Fatalf("GET %s: got %d body bytes; want %d", url, n, want)
	}
	return n
}

// post uploads Content(size) to url, with a Content-Length or chunked
// as up says, and drains the answer, failing the benchmark on any error
// or a status other than 200 (the simulator answers 400 when the body it
// read differs from what was sent). It returns the bytes sent.
func post(b *testing.B, t *target, url string, size int64, up upload) int64 {
	body := upstream.Content(size)
	if up == uploadChunked {
		body = struct{ io.Reader }{body} // no length, no WriterTo: 32 KiB chunks
	}
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-tar")
	if up == uploadLength {
		req.ContentLength = size
	}
	resp, err := t.client.Do(req)
	if err != nil {
		b.Fatalf("POST %s: %v", url, err)
	}
	msg, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatalf("POST %s: reading the answer: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("POST %s: status %s: %s", url, resp.Status, msg)
	}
	return size
}

// parallel runs op b.N times from conc goroutines and returns each op's
// latency.
func parallel(b *testing.B, conc int, op func()) []time.Duration {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((conc + procs - 1) / procs)
	var mu sync.Mutex
	var all []time.Duration
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			op()
			lat = append(lat, time.Since(t0))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	return all
}

// percentile returns the p-quantile of lat (0 for none).
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

// cpuTime returns the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchUpgrade opens one attach stream through t and measures echo round
// trips of size bytes: write the message as stdin, read it back from stdout
// frames.
func benchUpgrade(b *testing.B, t *target, st string, size int) {
	conn, err := t.dial()
	if err != nil {
		b.Fatalf("dialing: %v", err)
	}
	defer conn.Close()
	const req = "POST /containers/lab/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n" +
		"Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: text/plain\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		b.Fatalf("writing the attach request: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		b.Fatalf("reading the attach response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("attach: got status %s; want 101", resp.Status)
	}
	msg := bytes.Repeat([]byte{'x'}, size)
	defer spliceMetrics(b, st)()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := conn.Write(msg); err != nil {
			b.Fatalf("writing stdin: %v", err)
		}
		for got := 0; got < size; {
			_, p, err := upstream.ReadFrame(br)
			if err != nil {
				b.Fatalf("reading stdout after %d of %d bytes: %v", got, size, err)
			}
			got += len(p)
		}
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, br)
}

// spliceMetrics starts counting the copies of a splice strategy's row (st
// a copy.Splicer) and returns the function that reports them, per op:
// spliced/op and fallbacks/op (see copy.ReadSpliceCounts). For any other
// strategy it reports nothing. The proxy runs in this process, so the
// counts are its own; an upgrade row's stream is opened before counting
// starts, so its copies are not counted.
func spliceMetrics(b *testing.B, st string) func() {
	s, err := bodycopy.Lookup(st)
	if err != nil {
		return func() {}
	}
	if _, ok := s.(bodycopy.Splicer); !ok {
		return func() {}
	}
	before := bodycopy.ReadSpliceCounts()
	return func() {
		d := bodycopy.ReadSpliceCounts().Sub(before).Total()
		b.ReportMetric(float64(d.Spliced)/float64(b.N), "spliced/op")
		b.ReportMetric(float64(d.Fallbacks)/float64(b.N), "fallbacks/op")
	}
}
