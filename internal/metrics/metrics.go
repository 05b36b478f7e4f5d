// Package metrics is sockproxy's Prometheus instrumentation: a
// [proxy.Observer] that counts requests, bytes, durations and streams, and
// collectors read at scrape time for the upstream pool, the splice counts
// and whether the upstream socket accepts connections.
//
// # Metrics
//
//	sockproxy_requests_total{op,method,code,decision}   counter
//	sockproxy_request_duration_seconds{op}               histogram
//	sockproxy_body_bytes_total{direction}                counter: "in" (client → upstream), "out" (upstream → client)
//	sockproxy_streams{kind}                              gauge: "active" requests, "upgraded" (attach, exec), "parked" streams
//	sockproxy_denials_total{op,rule}                     counter
//	sockproxy_splice_copies_total{path,result}           counter: path "length", "chunked", "stream"; result "spliced", "fallback"
//	sockproxy_upstream_idle_connections                  gauge (raw transport only)
//	sockproxy_upstream_dials_total                       counter (raw transport only)
//	sockproxy_upstream_dial_errors_total                 counter (raw transport only)
//	sockproxy_upstream_up                                gauge: 1 when the upstream socket accepts a connection at scrape time
//	sockproxy_build_info{version,goversion}              gauge, always 1
//
// plus the client library's Go runtime and process collectors.
//
// Labels have bounded values: op is a Docker Engine API operationId
// (dockerapi.Op, "Unknown" for a request dockerd would route nowhere),
// method one of the HTTP methods or "other", code a status, decision
// "allowed", "denied" or "unchecked" (no policy), rule a line of the
// policy. No label ever holds a path, an id or a header.
//
// # Cost
//
// Observe does not allocate once a combination of labels has been seen: the
// children of the vectors are cached in a map under a read lock, keyed by a
// packed integer.
package metrics

import (
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/dockerapi"
	"github.com/sockproxylab/sockproxy/proxy"
)

// Options configures [New].
type Options struct {
	// Version is the sockproxy version, reported in sockproxy_build_info.
	Version string
	// Socket is the upstream socket, dialed at scrape time for
	// sockproxy_upstream_up; "" leaves that metric out.
	Socket string
	// NoRuntime leaves out the Go runtime and process collectors (tests).
	NoRuntime bool
}

// Metrics is the observer and its registry. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	denials  *prometheus.CounterVec
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	streams  [3]prometheus.Gauge // by proxy.StreamKind

	mu       sync.RWMutex
	children map[uint32]child
}

// child is the cached children of the vectors for one combination of
// labels.
type child struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// New returns the metrics, registered in a registry of their own.
func New(o Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockproxy_requests_total",
			Help: "Requests served, by Docker Engine API operation, method, status code and policy decision.",
		}, []string{"op", "method", "code", "decision"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sockproxy_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response (streams: until parked or ended), by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"op"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockproxy_denials_total",
			Help: "Requests the policy refused, by operation and the rule that decided.",
		}, []string{"op", "rule"}),
		children: make(map[uint32]child),
	}
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sockproxy_body_bytes_total",
		Help: `Body bytes relayed: direction "in" from clients to the upstream, "out" from the upstream to clients (hijacked streams not counted).`,
	}, []string{"direction"})
	m.bytesIn = bytes.WithLabelValues("in")
	m.bytesOut = bytes.WithLabelValues("out")
	streams := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sockproxy_streams",
		Help: `Requests and streams open now: "active" requests in the handler, "upgraded" (attach, exec) and "parked" streams.`,
	}, []string{"kind"})
	for k := range m.streams {
		m.streams[k] = streams.WithLabelValues(proxy.StreamKind(k).String())
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sockproxy_build_info",
		Help: "Always 1; the labels say which sockproxy runs.",
	}, []string{"version", "goversion"})
	info.WithLabelValues(o.Version, runtime.Version()).Set(1)

	m.reg.MustRegister(m.requests, m.duration, m.denials, bytes, streams, info, spliceCollector{})
	if o.Socket != "" {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sockproxy_upstream_up",
			Help: "1 when the upstream socket accepted a connection at scrape time, else 0 (the proxy answers 502 meanwhile).",
		}, func() float64 { return upstreamUp(o.Socket) }))
	}
	if !o.NoRuntime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Stream implements [proxy.Observer].
func (m *Metrics) Stream(k proxy.StreamKind, delta int) {
	if int(k) < len(m.streams) {
		m.streams[k].Add(float64(delta))
	}
}

// Observe implements [proxy.Observer].
func (m *Metrics) Observe(o proxy.Outcome) {
	method := methodIndex(o.Req.Method)
	code := o.Status
	if code < 0 || code > 999 {
		code = 0
	}
	key := uint32(o.Op)<<16 | uint32(method)<<12 | uint32(o.Verdict)<<10 | uint32(code)
	m.mu.RLock()
	c, ok := m.children[key]
	m.mu.RUnlock()
	if !ok {
		c = m.child(key, o.Op, method, code, o.Verdict)
	}
	c.requests.Inc()
	c.duration.Observe(o.Duration.Seconds())
	if o.BytesIn > 0 {
		m.bytesIn.Add(float64(o.BytesIn))
	}
	if o.BytesOut > 0 {
		m.bytesOut.Add(float64(o.BytesOut))
	}
	if o.Verdict == proxy.Denied {
		m.denials.WithLabelValues(o.Op.String(), o.Rule).Inc()
	}
}

// child creates and caches the children for key.
func (m *Metrics) child(key uint32, op dockerapi.Op, method, code int, v proxy.Verdict) child {
	c := child{
		requests: m.requests.WithLabelValues(op.String(), methods[method], strconv.Itoa(code), v.String()),
		duration: m.duration.WithLabelValues(op.String()),
	}
	m.mu.Lock()
	m.children[key] = c
	m.mu.Unlock()
	return c
}

// methods are the values of the method label; anything else is "other".
var methods = [...]string{"other", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}

func methodIndex(m string) int {
	for i := 1; i < len(methods); i++ {
		if methods[i] == m {
			return i
		}
	}
	return 0
}

// upstreamUp dials socket and reports 1 when it accepts.
func upstreamUp(socket string) float64 {
	c, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return 0
	}
	c.Close()
	return 1
}

var (
	spliceDesc = prometheus.NewDesc("sockproxy_splice_copies_total",
		`Body and stream copies of the splice strategies: path "length" (Content-Length bodies), "chunked" (bulk bodies of unknown length), "stream" (directions of upgraded streams); result "spliced" or "fallback" (a buffered copy).`,
		[]string{"path", "result"}, nil)
	idleDesc = prometheus.NewDesc("sockproxy_upstream_idle_connections",
		"Idle upstream connections in the pool (raw transport).", nil, nil)
	dialsDesc = prometheus.NewDesc("sockproxy_upstream_dials_total",
		"Connects to the upstream socket (raw transport).", nil, nil)
	dialErrorsDesc = prometheus.NewDesc("sockproxy_upstream_dial_errors_total",
		"Connects to the upstream socket that failed (raw transport).", nil, nil)
)

// spliceCollector reports copy.ReadSpliceCounts at scrape time.
type spliceCollector struct{}

func (spliceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- spliceDesc }

func (spliceCollector) Collect(ch chan<- prometheus.Metric) {
	c := bodycopy.ReadSpliceCounts()
	for _, p := range []struct {
		name   string
		counts bodycopy.PathCounts
	}{{"length", c.Sized}, {"chunked", c.Spans}, {"stream", c.Stream}} {
		ch <- prometheus.MustNewConstMetric(spliceDesc, prometheus.CounterValue, float64(p.counts.Spliced), p.name, "spliced")
		ch <- prometheus.MustNewConstMetric(spliceDesc, prometheus.CounterValue, float64(p.counts.Fallbacks), p.name, "fallback")
	}
}

// UpstreamCollector reports a transport's pool at scrape time: stats is,
// for example, ReverseProxy.UpstreamStats; its false result leaves the
// pool metrics out.
func UpstreamCollector(stats func() (proxy.UpstreamStats, bool)) prometheus.Collector {
	return upstreamCollector{stats}
}

// upstreamCollector reports the transport's pool at scrape time.
type upstreamCollector struct {
	stats func() (proxy.UpstreamStats, bool)
}

func (upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- idleDesc
	ch <- dialsDesc
	ch <- dialErrorsDesc
}

func (u upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	s, ok := u.stats()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(idleDesc, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(dialsDesc, prometheus.CounterValue, float64(s.Dials))
	ch <- prometheus.MustNewConstMetric(dialErrorsDesc, prometheus.CounterValue, float64(s.DialErrors))
}
