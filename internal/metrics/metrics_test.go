package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sockproxylab/sockproxy/dockerapi"
	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/proxy"
)

// scrape serves m's handler once and parses the text exposition.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}

// value returns the value of the sample of family name whose labels
// include want, and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	sock := testsock.Path(t, "m.sock")
	m := New(Options{Version: "test", Socket: sock, NoRuntime: true})
	m.Registry().MustRegister(UpstreamCollector(func() (proxy.UpstreamStats, bool) {
		return proxy.UpstreamStats{Idle: 3, Dials: 7, DialErrors: 2}, true
	}))
	get := httptest.NewRequest("GET", "/_ping", nil)
	post := httptest.NewRequest("POST", "/containers/c1/exec", nil)
	odd := httptest.NewRequest("PROPFIND", "/x", nil)
	for range 3 {
		m.Observe(proxy.Outcome{Req: get, Op: dockerapi.SystemPing, Verdict: proxy.Allowed, Status: 200, BytesOut: 2, Duration: time.Millisecond})
	}
	m.Observe(proxy.Outcome{Req: post, Op: dockerapi.ContainerExec, Verdict: proxy.Denied, Rule: "default deny", Status: 403})
	m.Observe(proxy.Outcome{Req: odd, Op: dockerapi.Unknown, Verdict: proxy.Unchecked, Status: 404, BytesIn: 5})
	m.Stream(proxy.StreamUpgraded, 1)
	m.Stream(proxy.StreamParked, 1)
	m.Stream(proxy.StreamParked, 1)
	m.Stream(proxy.StreamParked, -1)

	fams := scrape(t, m)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sockproxy_requests_total", map[string]string{"op": "SystemPing", "method": "GET", "code": "200", "decision": "allowed"}, 3},
		{"sockproxy_requests_total", map[string]string{"op": "ContainerExec", "method": "POST", "code": "403", "decision": "denied"}, 1},
		{"sockproxy_requests_total", map[string]string{"op": "Unknown", "method": "other", "code": "404", "decision": "unchecked"}, 1},
		{"sockproxy_request_duration_seconds", map[string]string{"op": "SystemPing"}, 3},
		{"sockproxy_denials_total", map[string]string{"op": "ContainerExec", "rule": "default deny"}, 1},
		{"sockproxy_body_bytes_total", map[string]string{"direction": "out"}, 6},
		{"sockproxy_body_bytes_total", map[string]string{"direction": "in"}, 5},
		{"sockproxy_streams", map[string]string{"kind": "upgraded"}, 1},
		{"sockproxy_streams", map[string]string{"kind": "parked"}, 1},
		{"sockproxy_streams", map[string]string{"kind": "active"}, 0},
		{"sockproxy_splice_copies_total", map[string]string{"path": "chunked", "result": "spliced"}, -1},
		{"sockproxy_upstream_idle_connections", nil, 3},
		{"sockproxy_upstream_dials_total", nil, 7},
		{"sockproxy_upstream_dial_errors_total", nil, 2},
		{"sockproxy_upstream_up", nil, 0}, // nothing listens on sock
		{"sockproxy_build_info", map[string]string{"version": "test"}, 1},
	} {
		got, ok := value(fams, tc.name, tc.labels)
		if !ok {
			t.Errorf("%s%v: missing", tc.name, tc.labels)
			continue
		}
		if tc.want >= 0 && got != tc.want {
			t.Errorf("%s%v = %v; want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

// TestObserveAllocs checks that a request whose labels were seen before
// costs no allocation.
func TestObserveAllocs(t *testing.T) {
	m := New(Options{NoRuntime: true})
	req := httptest.NewRequest("GET", "/containers/json", nil)
	o := proxy.Outcome{Req: req, Op: dockerapi.ContainerList, Verdict: proxy.Allowed, Status: http.StatusOK, BytesOut: 1536, Duration: time.Millisecond}
	m.Observe(o)
	if n := testing.AllocsPerRun(100, func() {
		m.Stream(proxy.StreamActive, 1)
		m.Stream(proxy.StreamActive, -1)
		m.Observe(o)
	}); n != 0 {
		t.Errorf("Observe: %v allocations per request; want 0", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New(Options{NoRuntime: true})
	req := httptest.NewRequest("GET", "/containers/json", nil)
	o := proxy.Outcome{Req: req, Op: dockerapi.ContainerList, Verdict: proxy.Allowed, Status: http.StatusOK, BytesOut: 1536, Duration: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.Stream(proxy.StreamActive, 1)
		m.Observe(o)
		m.Stream(proxy.StreamActive, -1)
	}
}
