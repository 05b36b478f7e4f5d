package proxy

import (
	"strings"
	"testing"
)

func TestConfigTransport(t *testing.T) {
	for _, tc := range []struct {
		mode, transport string
		ok              bool
	}{
		{"pooled", "", true}, {"pooled", "std", true}, {"pooled", "raw", true},
		{"stdlib", "raw", true}, {"stdlib-default", "std", true},
		{"stdlib-default", "raw", false}, {"pooled", "bogus", false},
	} {
		_, err := New(Config{Socket: "/nonexistent.sock", Mode: tc.mode, Transport: tc.transport})
		if (err == nil) != tc.ok {
			t.Errorf("New(mode %q, transport %q): error %v; want ok %v", tc.mode, tc.transport, err, tc.ok)
		}
		if err != nil && tc.transport == "bogus" && !strings.Contains(err.Error(), "std, raw") {
			t.Errorf("error %q does not name the valid transports", err)
		}
	}
}
