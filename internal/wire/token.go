package wire

import (
	"net/http"
	"net/textproto"
)

// UpgradeType returns the protocol asked for by "Connection: Upgrade", or "".
func UpgradeType(h http.Header) string {
	if !HasToken(h["Connection"], "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// HasToken reports whether any comma-separated element of values is
// token, case-insensitively.
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range splitComma(v) {
			if asciiEqualFold(t, token) {
				return true
			}
		}
	}
	return false
}

// asciiEqualFold is strings.EqualFold for ASCII.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// splitComma yields the trimmed comma-separated elements of s.
func splitComma(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			i := 0
			for i < len(s) && s[i] != ',' {
				i++
			}
			if !yield(textproto.TrimString(s[:i])) {
				return
			}
			if i == len(s) {
				return
			}
			s = s[i+1:]
		}
	}
}
