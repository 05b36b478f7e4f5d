//go:build race

package proxy

// raceEnabled: the race detector slows copying about tenfold, so the large
// body tests use smaller bodies under it.
const raceEnabled = true
