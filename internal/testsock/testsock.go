// Package testsock gives tests short Unix socket paths. t.TempDir() paths
// can exceed the ~108-byte sun_path limit, so sockets live in a short random
// directory under os.TempDir(), removed when the test ends.
package testsock

import (
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
