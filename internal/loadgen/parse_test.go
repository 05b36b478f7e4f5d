package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		in, network, addr, base, name string
	}{
		{"http://127.0.0.1:8080", "tcp", "127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"http://localhost", "tcp", "localhost:80", "http://localhost", "localhost"},
		{"unix:///run/docker.sock", "unix", "/run/docker.sock", "http://localhost", "direct"},
	} {
		got, err := ParseTarget(c.in)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", c.in, err)
			continue
		}
		if got.Network != c.network || got.Addr != c.addr || got.Base != c.base || got.DefaultName() != c.name {
			t.Errorf("ParseTarget(%q) = %+v, name %q; want %s %s %s %s", c.in, got, got.DefaultName(), c.network, c.addr, c.base, c.name)
		}
	}
	for _, bad := range []string{"", "ftp://x", "unix://host/x.sock", "http://h:1/path", "unix:"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) succeeded; want an error", bad)
		}
	}
}

func TestParseMix(t *testing.T) {
	names, weights, err := ParseMix("ping=80,json=15,chunked=5")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"chunked", "json", "ping"}) || !slices.Equal(weights, []int{5, 15, 80}) {
		t.Errorf("got %v %v; want [chunked json ping] [5 15 80]", names, weights)
	}
	for _, bad := range []string{"", "ping", "ping=0", "ping=-1", "ping=x", "events=1", "ping=1,ping=2", "ping=1,"} {
		if _, _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) succeeded; want an error", bad)
		}
	}
}

func TestEntriesFor(t *testing.T) {
	// Body = 2 + 100n bytes.
	for _, c := range []struct{ size, want int64 }{{1, 1}, {102, 1}, {1536, 15}, {65536, 655}} {
		if got := entriesFor(c.size, 102, 202); got != c.want {
			t.Errorf("entriesFor(%d) = %d; want %d", c.size, got, c.want)
		}
	}
	if got := entriesFor(1000, 50, 50); got != 1 {
		t.Errorf("entriesFor with no growth = %d; want 1", got)
	}
}

func TestTimeNano(t *testing.T) {
	for _, c := range []struct {
		line string
		want int64
		ok   bool
	}{
		{`{"Type":"container","timeNano":1700000000123456789}` + "\n", 1700000000123456789, true},
		{`{"time":1,"timeNano": 42,"x":1}`, 42, true},
		{`{"time":1}`, 0, false},
		{`{"timeNano":"x"}`, 0, false},
	} {
		got, ok := timeNano([]byte(c.line))
		if got != c.want || ok != c.ok {
			t.Errorf("timeNano(%q) = %d, %v; want %d, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func TestKindOf(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "unix", Err: errors.New("refused")}
	for _, c := range []struct {
		err  error
		want Kind
	}{
		{&Error{Kind: KindStatus, Err: io.EOF}, KindStatus},
		{fmt.Errorf("wrapped: %w", &Error{Kind: KindTimeout, Err: io.EOF}), KindTimeout},
		{fmt.Errorf("GET /: %w", dial), KindConnect},
		{io.ErrUnexpectedEOF, KindRead},
	} {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("KindOf(%v) = %v; want %v", c.err, got, c.want)
		}
	}
}

func TestMixInterleave(t *testing.T) {
	c := (&mix{weights: []int{5, 15, 80}}).NewConn(0).(*mixConn)
	counts := make([]int, 3)
	longest, run, last := 0, 0, -1
	for range 100 {
		i := c.pick()
		counts[i]++
		if i == last {
			run++
		} else {
			run, last = 1, i
		}
		longest = max(longest, run)
	}
	if !slices.Equal(counts, []int{5, 15, 80}) {
		t.Errorf("counts over 100 picks %v; want [5 15 80]", counts)
	}
	if longest > 6 {
		t.Errorf("longest run of one scenario %d; want the mix spread out (≤ 6)", longest)
	}
}
