package proxy

import (
	"bufio"
	"net"
	"sync/atomic"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// rawScriptedUpstream is a [testsock.Scripted] upstream: its socket and
// the count of connections it accepted.
type rawScriptedUpstream struct {
	path  string
	dials *atomic.Int64
}

// startScripted starts a [testsock.Scripted] upstream running serve.
func startScripted(t *testing.T, serve func(n int64, c net.Conn, br *bufio.Reader)) rawScriptedUpstream {
	u := testsock.StartScripted(t, serve)
	return rawScriptedUpstream{path: u.Path, dials: &u.Dials}
}

// readRequest is [testsock.ReadRequest].
var readRequest = testsock.ReadRequest
