package copy

import (
	"context"
	"io"
	"slices"
	"testing"
)

// scriptReader records the length of every buffer it is handed and returns
// the byte counts of its script in turn (fill: the whole buffer), then EOF.
type scriptReader struct {
	script []int
	lens   []int
}

const fill = -1

func (r *scriptReader) Read(p []byte) (int, error) {
	r.lens = append(r.lens, len(p))
	if len(r.script) == 0 {
		return 0, io.EOF
	}
	n := r.script[0]
	r.script = r.script[1:]
	if n == fill || n > len(p) {
		n = len(p)
	}
	return n, nil
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

func TestPooledBuffers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int64
		script []int
		want   []int
	}{
		{"stream grows while reads fill", -1,
			[]int{fill, fill, fill, fill, fill},
			[]int{4 * kib, 16 * kib, 64 * kib, 256 * kib, 256 * kib, 256 * kib}},
		{"drained stream reads small, then resumes its size", -1,
			[]int{fill, fill, fill, 100, 10, fill, fill},
			[]int{4 * kib, 16 * kib, 64 * kib, 256 * kib, 4 * kib, 4 * kib, 256 * kib, 256 * kib}},
		{"stream in pieces of 4 KiB or more keeps its buffer", -1,
			[]int{fill, fill, 32 * kib, 5 * kib, 32 * kib, 100},
			[]int{4 * kib, 16 * kib, 64 * kib, 64 * kib, 64 * kib, 64 * kib, 4 * kib}},
		{"stream that never fills stays small", -1,
			[]int{100, 100, 100},
			[]int{4 * kib, 4 * kib, 4 * kib, 4 * kib}},
		{"known size keeps its class", 1536,
			[]int{1000, 536},
			[]int{2 * kib, 2 * kib, 2 * kib}},
		{"known empty", 0, nil, []int{512}},
		{"known huge is capped", 64 * mib,
			[]int{fill, 5},
			[]int{mib, mib, mib}},
		{"body outrunning its hint becomes a stream", 10,
			[]int{fill, fill, fill},
			[]int{512, 4 * kib, 16 * kib, 64 * kib}},
	} {
		r := &scriptReader{script: tc.script}
		Pooled.Copy(context.Background(), io.Discard, r, tc.size) // errors: see copytest
		if !slices.Equal(r.lens, tc.want) {
			t.Errorf("%s: Read buffer lengths = %v; want %v", tc.name, r.lens, tc.want)
		}
	}
}

func TestSizedBuffers(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		want int
	}{
		{"empty", 0, 256},
		{"tiny", 100, 256},
		{"small", 257, 2 * kib},
		{"json", 1536, 2 * kib},
		{"tier", 5000, 8 * kib},
		{"capped", 64 * mib, 32 * kib},
		{"unknown", -1, 32 * kib},
	} {
		r := &scriptReader{}
		Sized.Copy(context.Background(), io.Discard, r, tc.size) // errors: see copytest
		if len(r.lens) != 1 || r.lens[0] != tc.want {
			t.Errorf("%s: Read buffer lengths = %v; want [%d]", tc.name, r.lens, tc.want)
		}
	}
}
