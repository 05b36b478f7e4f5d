package labreport

import (
	"math"
	"testing"
)

func TestMedianCI(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 9, 7, 6, 8, 10}
	iv := MedianCI(xs)
	if !iv.OK || iv.Point != 5.5 || iv.N != 10 {
		t.Fatalf("MedianCI = %+v; want point 5.5 of 10", iv)
	}
	if iv.Lo > iv.Point || iv.Hi < iv.Point || iv.Lo < 1 || iv.Hi > 10 {
		t.Errorf("interval [%g, %g] does not hold the median %g within the data", iv.Lo, iv.Hi, iv.Point)
	}
	if again := MedianCI(xs); again != iv {
		t.Errorf("MedianCI is not reproducible: %+v then %+v", iv, again)
	}
	if iv := MedianCI(nil); iv.OK {
		t.Errorf("MedianCI(nil) = %+v; want not OK", iv)
	}
}

// Per-round pairing removes what the rounds share: a drift common to the
// row, stdlib and direct leaves the ratio exact.
func TestPairedRatioCI(t *testing.T) {
	var a, b, base []float64
	for i := range 10 {
		drift := float64(i * 100)
		base = append(base, 1000+drift)
		a = append(a, 1000+drift+30)
		b = append(b, 1000+drift+60)
	}
	iv := PairedRatioCI(a, b, base)
	if !iv.OK || math.Abs(iv.Point-0.5) > 1e-12 || math.Abs(iv.Lo-0.5) > 1e-12 || math.Abs(iv.Hi-0.5) > 1e-12 {
		t.Errorf("PairedRatioCI = %+v; want exactly 0.5", iv)
	}
	// A negative own cost has no ratio: never a "met".
	neg := []float64{990, 1090, 1190, 1290, 1390, 1490, 1590, 1690, 1790, 1890}
	if iv := PairedRatioCI(neg, b, base); iv.OK {
		t.Errorf("negative own cost: %+v; want not OK", iv)
	}
	if iv := PairedRatioCI(a[:9], b, base); iv.OK {
		t.Errorf("unpaired lengths: %+v; want not OK", iv)
	}
}

func TestSlopeCI(t *testing.T) {
	x := []float64{1000, 2000, 4000, 8000, 1000, 2000, 4000, 8000}
	var y []float64
	for _, v := range x {
		y = append(y, 300+12.5*v)
	}
	iv := SlopeCI(x, y)
	if !iv.OK || math.Abs(iv.Point-12.5) > 1e-9 || math.Abs(iv.Hi-12.5) > 1e-9 {
		t.Errorf("SlopeCI = %+v; want exactly 12.5", iv)
	}
	if iv := SlopeCI([]float64{1, 1}, []float64{2, 3}); iv.OK {
		t.Errorf("one x: %+v; want not OK", iv)
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		iv      Interval
		atLeast bool
		want    string
	}{
		{Interval{Point: 0.6, Lo: 0.5, Hi: 0.65, OK: true}, false, "met"},
		{Interval{Point: 0.6, Lo: 0.5, Hi: 0.7, OK: true}, false, "not shown: the interval crosses the goal, the median meets it"}, // ends on the goal
		{Interval{Point: 0.75, Lo: 0.6, Hi: 0.9, OK: true}, false, "not shown: the interval crosses the goal, the median misses it"},
		{Interval{Point: 0.8, Lo: 0.75, Hi: 0.9, OK: true}, false, "MISSED"},
		{Interval{Point: 0.9, Lo: 0.85, Hi: 0.95, OK: true}, true, "met"},
		{Interval{}, false, "n/a"},
	} {
		if got := verdict(c.iv, 0.7, c.atLeast); got != c.want {
			t.Errorf("verdict(%+v, 0.7, %v) = %q; want %q", c.iv, c.atLeast, got, c.want)
		}
	}
}
