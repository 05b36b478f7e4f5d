package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestRunUsage checks that bad flags exit 2 with a usage message before
// anything is opened.
func TestRunUsage(t *testing.T) {
	req := []string{"-target", "127.0.0.1:1", "-pid", "1", "-csv", "x.csv"}
	cases := []struct {
		name string
		args []string
	}{
		{"missing-target", []string{"-pid", "1", "-csv", "x.csv"}},
		{"slow-every-0", slices.Concat(req, []string{"-slow-every", "0s"})},
		{"slow-negative", slices.Concat(req, []string{"-slow", "-1"})},
		{"every-0", slices.Concat(req, []string{"-every", "0s"})},
		{"argument", slices.Concat(req, []string{"extra"})},
		{"bad-flag", []string{"-nope"}},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), &stdout, &stderr, tc.args); code != 2 {
			t.Errorf("%s: run = %d; want 2", tc.name, code)
		}
		if !strings.Contains(stderr.String(), "-slow-every D") {
			t.Errorf("%s: stderr %q; want the usage, naming -slow-every", tc.name, stderr.String())
		}
	}
}
