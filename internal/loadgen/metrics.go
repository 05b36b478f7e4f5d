package loadgen

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: latencies are recorded in nanoseconds from 1µs to 60s
// with 3 significant figures (0.1 % resolution); slower ones count as 60s.
const (
	histMin = int64(time.Microsecond)
	histMax = int64(60 * time.Second)
)

// Metrics aggregates Results: [Metrics.Add] each one, then [Metrics.Close]
// once to compute the summary fields. A Metrics is not safe for concurrent
// use; the zero value is ready.
type Metrics struct {
	// Requests counts the measured operations that ran, ok or failed.
	Requests int64 `json:"requests"`
	// Success counts those that succeeded.
	Success int64 `json:"success"`
	// Errors counts the failed ones by kind.
	Errors ErrorCounts `json:"errors"`
	// FirstError is the first failure's message, for the report.
	FirstError string `json:"first_error,omitempty"`
	// Bytes sums the payload bytes received.
	Bytes int64 `json:"bytes"`
	// Late and Dropped count open-loop sends that started more than
	// LateAfter behind schedule, and that never started.
	Late    int64 `json:"late"`
	Dropped int64 `json:"dropped"`
	// Earliest is the earliest intended start of a measured operation,
	// Latest the latest end; Elapsed is the time between.
	Earliest time.Time     `json:"earliest"`
	Latest   time.Time     `json:"latest"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	// Rate is Requests per second of Elapsed; Throughput is Bytes per
	// second.
	Rate       float64 `json:"req_per_s"`
	Throughput float64 `json:"bytes_per_s"`
	// Latency summarises the latencies of the successful operations and
	// of the dropped sends: a dropped send counts as answered at Latest,
	// the end of the run (a lower bound on its wait), so that an open loop
	// cannot hide what it failed to send (coordinated omission).
	Latency Latencies `json:"latency"`

	hist    *hdrhistogram.Histogram
	dropped []time.Time // intended times of the dropped sends, recorded at Close
}

// ErrorCounts counts failures by [Kind].
type ErrorCounts struct {
	Connect int64 `json:"connect"` // KindConnect
	Status  int64 `json:"status"`  // KindStatus
	Read    int64 `json:"read"`    // KindRead
	Timeout int64 `json:"timeout"` // KindTimeout
}

// Total is the number of failures of any kind.
func (e ErrorCounts) Total() int64 { return e.Connect + e.Status + e.Read + e.Timeout }

// Latencies are quantiles of the latency histogram.
type Latencies struct {
	// Min, Mean and Max are of all samples; P50 … P999 the 50th, 90th,
	// 99th and 99.9th percentiles.
	Min  time.Duration `json:"min_ns"`
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
}

// Add counts r; warmup results are ignored.
func (m *Metrics) Add(r *Result) {
	if r.Warmup {
		return
	}
	if m.Earliest.IsZero() || r.Intended.Before(m.Earliest) {
		m.Earliest = r.Intended
	}
	if r.End.After(m.Latest) {
		m.Latest = r.End
	}
	if r.Dropped {
		m.Dropped++
		m.dropped = append(m.dropped, r.Intended)
		return
	}
	m.Requests++
	m.Bytes += r.Bytes
	if r.Late {
		m.Late++
	}
	if r.Err != nil {
		switch KindOf(r.Err) {
		case KindConnect:
			m.Errors.Connect++
		case KindStatus:
			m.Errors.Status++
		case KindTimeout:
			m.Errors.Timeout++
		default:
			m.Errors.Read++
		}
		if m.FirstError == "" {
			m.FirstError = r.Err.Error()
		}
		return
	}
	m.Success++
	if m.hist == nil {
		m.hist = newHist()
	}
	m.hist.RecordValue(min(max(int64(r.Latency), histMin), histMax))
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, 3) }

// Quantile returns the latency at quantile q (0.99 for p99) of what was
// added so far.
func (m *Metrics) Quantile(q float64) time.Duration {
	if m.hist == nil {
		return 0
	}
	return time.Duration(m.hist.ValueAtQuantile(q * 100))
}

// Close computes Elapsed, Rate, Throughput and Latency; it records each
// dropped send's latency as Latest minus its intended time.
func (m *Metrics) Close() {
	m.Elapsed = m.Latest.Sub(m.Earliest)
	for _, t := range m.dropped {
		if m.hist == nil {
			m.hist = newHist()
		}
		m.hist.RecordValue(min(max(int64(m.Latest.Sub(t)), histMin), histMax))
	}
	m.dropped = nil
	if m.Elapsed > 0 {
		sec := m.Elapsed.Seconds()
		m.Rate = float64(m.Requests) / sec
		m.Throughput = float64(m.Bytes) / sec
	}
	if m.hist == nil {
		return
	}
	m.Latency = Latencies{
		Min:  time.Duration(m.hist.Min()),
		Mean: time.Duration(m.hist.Mean()),
		P50:  m.Quantile(0.50),
		P90:  m.Quantile(0.90),
		P99:  m.Quantile(0.99),
		P999: m.Quantile(0.999),
		Max:  time.Duration(m.hist.Max()),
	}
}
