package proxy

import (
	"strings"
	"testing"
)

// TestSetup is the table of valid pairs and defaults, and New's refusal of
// anything else with the valid values named.
func TestSetup(t *testing.T) {
	for _, tc := range []struct {
		mode, transport string
		ok              bool
		want            string // String(), defaults filled in
	}{
		{"", "", true, "mode=lean/transport=raw"},
		{"pooled", "", true, "mode=pooled/transport=raw"},
		{"pooled", "std", true, "mode=pooled/transport=std"},
		{"pooled", "raw", true, "mode=pooled/transport=raw"},
		{"stdlib", "", true, "mode=stdlib/transport=std"},
		{"stdlib", "raw", true, "mode=stdlib/transport=raw"},
		{"stdlib-default", "", true, "mode=stdlib-default/transport=std"},
		{"stdlib-default", "raw", false, ""},
		{"lean", "", true, "mode=lean/transport=raw"},
		{"lean", "std", false, ""},
		{"pooled", "bogus", false, ""},
		{"bogus", "", false, ""},
	} {
		s := Setup{Mode: tc.mode, Transport: tc.transport}
		err := s.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v; want ok %v", s, err, tc.ok)
		}
		if _, nerr := New(Config{Socket: "/nonexistent.sock", Mode: tc.mode, Transport: tc.transport}); (nerr == nil) != tc.ok {
			t.Errorf("New(mode %q, transport %q): error %v; want ok %v", tc.mode, tc.transport, nerr, tc.ok)
		}
		if tc.ok && s.String() != tc.want {
			t.Errorf("%+v.String() = %q; want %q", s, s.String(), tc.want)
		}
		if err != nil && tc.transport == "bogus" && !strings.Contains(err.Error(), "std, raw") {
			t.Errorf("error %q does not name the valid transports", err)
		}
		if err != nil && tc.mode == "bogus" && !strings.Contains(err.Error(), DefaultMode) {
			t.Errorf("error %q does not name the valid modes", err)
		}
	}
	all := Setups()
	if want := 2*len(Modes()) - 2; len(all) != want {
		t.Errorf("Setups() has %d pairs; want every mode over both transports but stdlib-default over raw and lean over std (%d)", len(all), want)
	}
	for _, s := range all {
		if err := s.Validate(); err != nil {
			t.Errorf("Setups() lists %v: %v", s, err)
		}
	}
	if DefaultSetup.String() != (Setup{}).String() {
		t.Errorf("DefaultSetup %v is not the zero Setup's %v", DefaultSetup, Setup{})
	}
}
