package units

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		s string
		n int64
	}{
		{"0B", 0}, {"1B", 1}, {"512B", 512}, {"1536B", 1536}, {"64KiB", 64 << 10},
		{"1MiB", 1 << 20}, {"64MiB", 64 << 20}, {"2GiB", 2 << 30},
	} {
		n, err := ParseSize(tc.s)
		if err != nil || n != tc.n {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.s, n, err, tc.n)
		}
		if got := FormatSize(tc.n); got != tc.s {
			t.Errorf("FormatSize(%d) = %q; want %q", tc.n, got, tc.s)
		}
	}
	if n, err := ParseSize("4096"); err != nil || n != 4096 {
		t.Errorf("ParseSize(4096) = %d, %v", n, err)
	}
	for _, bad := range []string{"", "x", "-1", "1.5MiB", "1 MiB", "MiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded; want error", bad)
		}
	}
}
