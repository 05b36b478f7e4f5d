package labreport

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Bootstrap settings: every interval in a report is a percentile bootstrap
// of Resamples resamples drawn from a generator seeded with Seed, so that
// the same raw files always give the same report.
const (
	Resamples = 2000
	Seed      = 1
	// Level is the confidence level of every interval.
	Level = 0.95
)

// An Interval is a point estimate with its 95 % bootstrap confidence
// interval. OK is false when there was nothing to estimate.
type Interval struct {
	Point, Lo, Hi float64
	N             int // samples (rounds, or points of a fit) behind it
	OK            bool
}

// Scale multiplies every bound by k.
func (iv Interval) Scale(k float64) Interval {
	iv.Point, iv.Lo, iv.Hi = iv.Point*k, iv.Lo*k, iv.Hi*k
	if k < 0 {
		iv.Lo, iv.Hi = iv.Hi, iv.Lo
	}
	return iv
}

// Format prints the interval as "P [L, H]" with verb f for each number.
func (iv Interval) Format(f string) string {
	if !iv.OK {
		return "-"
	}
	return fmt.Sprintf(f+" ["+f+", "+f+"]", iv.Point, iv.Lo, iv.Hi)
}

// median returns the median of xs (NaN for none); xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	m := len(ys) / 2
	if len(ys)%2 == 1 {
		return ys[m]
	}
	return (ys[m-1] + ys[m]) / 2
}

// quantile returns the q-quantile of sorted ys, linearly interpolated.
func quantile(ys []float64, q float64) float64 {
	if len(ys) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(ys)-1)
	i := int(pos)
	if i >= len(ys)-1 {
		return ys[len(ys)-1]
	}
	frac := pos - float64(i)
	return ys[i]*(1-frac) + ys[i+1]*frac
}

// bootstrap estimates stat on the indices 0..n-1 and, resampling those
// indices with replacement, its percentile interval. stat reports false
// for a resample it cannot evaluate (such resamples are left out); the
// interval is not OK when the point estimate itself cannot be evaluated.
func bootstrap(n int, stat func(idx []int) (float64, bool)) Interval {
	if n == 0 {
		return Interval{}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	point, ok := stat(idx)
	if !ok {
		return Interval{N: n}
	}
	rng := rand.New(rand.NewPCG(Seed, Seed))
	ests := make([]float64, 0, Resamples)
	for range Resamples {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		if v, ok := stat(idx); ok {
			ests = append(ests, v)
		}
	}
	if len(ests) == 0 {
		return Interval{Point: point, Lo: point, Hi: point, N: n, OK: true}
	}
	slices.Sort(ests)
	a := (1 - Level) / 2
	return Interval{Point: point, Lo: quantile(ests, a), Hi: quantile(ests, 1-a), N: n, OK: true}
}

func pick(xs []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}

// MedianCI is the median of xs with its bootstrap interval.
func MedianCI(xs []float64) Interval {
	return bootstrap(len(xs), func(idx []int) (float64, bool) { return median(pick(xs, idx)), true })
}

// PairedRatioCI estimates median(a−base) ÷ median(b−base) where a, b and
// base are samples of the same rounds (a[i], b[i] and base[i] ran in round
// i): each round's own cost is a paired difference, and rounds are
// resampled whole. base may be nil (no subtraction). Resamples whose
// denominator is not positive are left out; the point estimate needs a
// positive denominator and numerator, else the interval is not OK. When
// the lengths differ the rounds cannot be paired and nothing is estimated.
func PairedRatioCI(a, b, base []float64) Interval {
	n := len(a)
	if n == 0 || len(b) != n || base != nil && len(base) != n {
		return Interval{}
	}
	da, db := diffs(a, base), diffs(b, base)
	if median(da) <= 0 || median(db) <= 0 {
		return Interval{N: n}
	}
	return bootstrap(n, func(idx []int) (float64, bool) {
		den := median(pick(db, idx))
		if den <= 0 {
			return 0, false
		}
		return median(pick(da, idx)) / den, true
	})
}

// PairedDiffCI is the median of the paired differences a[i] − base[i].
func PairedDiffCI(a, base []float64) Interval {
	if len(a) == 0 || len(base) != len(a) {
		return Interval{}
	}
	return MedianCI(diffs(a, base))
}

func diffs(a, base []float64) []float64 {
	out := slices.Clone(a)
	if base != nil {
		for i := range out {
			out[i] -= base[i]
		}
	}
	return out
}

// RatioCI estimates median(a) ÷ median(b) for samples that are not paired
// (different counts), resampling each independently.
func RatioCI(a, b []float64) Interval {
	if len(a) == 0 || len(b) == 0 || median(b) <= 0 {
		return Interval{}
	}
	n := max(len(a), len(b))
	rng := rand.New(rand.NewPCG(Seed, Seed+1))
	point := median(a) / median(b)
	ests := make([]float64, 0, Resamples)
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	for range Resamples {
		for i := range ra {
			ra[i] = a[rng.IntN(len(a))]
		}
		for i := range rb {
			rb[i] = b[rng.IntN(len(b))]
		}
		if d := median(rb); d > 0 {
			ests = append(ests, median(ra)/d)
		}
	}
	slices.Sort(ests)
	return Interval{Point: point, Lo: quantile(ests, 0.025), Hi: quantile(ests, 0.975), N: n, OK: len(ests) > 0}
}

// MinFitPoints is the fewest points, at MinFitCounts distinct x or more,
// that SlopeCI fits: with fewer, a resampled fit is mostly degenerate and
// its interval would look tighter than the data allow.
const (
	MinFitPoints = 4
	MinFitCounts = 3
)

// SlopeCI fits y = a + b·x by least squares and returns b with its
// bootstrap interval (points resampled with replacement); not OK with
// fewer than MinFitPoints points or MinFitCounts distinct x.
func SlopeCI(x, y []float64) Interval {
	if len(x) != len(y) || len(x) < MinFitPoints || len(slices.Compact(slices.Sorted(slices.Values(x)))) < MinFitCounts {
		return Interval{N: len(x)}
	}
	return bootstrap(len(x), func(idx []int) (float64, bool) { return slope(pick(x, idx), pick(y, idx)) })
}

func slope(x, y []float64) (float64, bool) {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	den := n*sxx - sx*sx
	if len(x) < 2 || den <= 1e-9*n*sxx {
		return 0, false
	}
	return (n*sxy - sx*sy) / den, true
}
