//go:build !race

package sockio

// rawIOOff is empty: raw I/O is on (see rawio_race.go).
const rawIOOff = ""
