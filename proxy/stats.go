package proxy

import "github.com/sockproxylab/sockproxy/internal/wire"

// UpstreamStats describes a transport's upstream connections, for metrics
// read at scrape time.
type UpstreamStats struct {
	// Idle is the number of idle connections in the pool.
	Idle int
	// Dials counts connects to the upstream socket; DialErrors those that
	// failed (a missing socket, a refused connect).
	Dials, DialErrors uint64
}

// UpstreamStats returns the Transport's pool size and dial counts, and
// false when the Transport keeps none (only a [RawTransport] does).
func (p *ReverseProxy) UpstreamStats() (UpstreamStats, bool) {
	return transportStats(p.Transport)
}

// UpstreamStats returns the upstream transport's pool size and dial
// counts, and false when it keeps none (only the raw transport does).
func (p *Proxy) UpstreamStats() (UpstreamStats, bool) {
	return transportStats(p.idle)
}

func transportStats(t any) (UpstreamStats, bool) {
	if s, ok := t.(interface{ Stats() wire.Stats }); ok {
		return UpstreamStats(s.Stats()), true
	}
	return UpstreamStats{}, false
}
