// Package units parses and formats the byte sizes used in flags, simulator
// queries and benchmark names: IEC units without spaces (512B, 1536B, 64KiB,
// 1MiB, 64MiB, 1GiB), or a plain count of bytes.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

var suffixes = []struct {
	s string
	n int64
}{
	{"GiB", 1 << 30},
	{"MiB", 1 << 20},
	{"KiB", 1 << 10},
	{"B", 1},
}

// ParseSize parses "64MiB", "1536B", "64KiB" or "1048576". Sizes are
// non-negative.
func ParseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, suf := range suffixes {
		if strings.HasSuffix(s, suf.s) {
			num, mult = strings.TrimSuffix(s, suf.s), suf.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || (mult > 1 && n > (1<<62)/mult) {
		return 0, fmt.Errorf("invalid size %q: want bytes or an IEC size such as 1536B, 64KiB, 1MiB", s)
	}
	return n * mult, nil
}

// FormatSize formats n in the largest IEC unit that divides it exactly:
// 1536 → "1536B", 65536 → "64KiB", 67108864 → "64MiB".
func FormatSize(n int64) string {
	for _, suf := range suffixes {
		if n != 0 && n%suf.n == 0 && suf.n > 1 {
			return strconv.FormatInt(n/suf.n, 10) + suf.s
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
