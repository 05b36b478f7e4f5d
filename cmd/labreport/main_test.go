package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	// The testdata predate the lean default: judge them on the one they have.
	args := []string{"-plots", dir, "-default", "splice-chunked-raw", "../../internal/labreport/testdata/gotest-rounds.txt", "../../internal/labreport/testdata/suite-rounds.txt"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"goals, judged on the default (splice-chunked-raw)", "capacity at fixed load", "suite goals, judged on the default (sockproxy-splice-chunked-raw)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, name := range []string{"throughput.svg", "allocs.svg", "latency.svg", "cpu-request.svg", "cpu-gib.svg", "memory.svg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("plot: %v", err)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("no files: exit %d; want 2", code)
	}
}
