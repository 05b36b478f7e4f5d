// Package testsock gives tests short Unix socket paths. t.TempDir() paths
// can exceed the ~108-byte sun_path limit, so sockets live in a short random
// directory under os.TempDir(), removed when the test ends.
package testsock

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// Path returns a fresh socket path, "<tmp>/sp-XXXX/<name>", whose directory
// is removed at the end of the test.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "sp-")
	if err != nil {
		tb.Fatalf("testsock: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// UnixPair returns both ends of a connected Unix stream socket, the
// dialled end first, closed when the test ends.
func UnixPair(tb testing.TB) (dialled, accepted *net.UnixConn) {
	tb.Helper()
	ln, err := net.Listen("unix", Path(tb, "pair.sock"))
	if err != nil {
		tb.Fatalf("testsock: %v", err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		tb.Fatalf("testsock: %v", err)
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		tb.Fatalf("testsock: %v", err)
	}
	tb.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.UnixConn), s.(*net.UnixConn)
}
