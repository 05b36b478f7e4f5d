//go:build race

package sockio

// rawIOOff says why NewRawIO gives up: under the race detector a
// connection's own Read and Write tell it that what one goroutine wrote
// to a socket happens before what another read from it; raw system calls
// cannot, and the tests that synchronise through sockets would report
// races that are none. Race builds use the connection's own methods.
const rawIOOff = "sockio: raw I/O is off under the race detector"
