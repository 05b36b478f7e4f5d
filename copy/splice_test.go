package copy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
)

// spanSource is an in-memory copy.SpliceSource: each span is head bytes
// and a rest reader of restLen bytes from its own reader.
type spanSource struct {
	spans []fakeSpan
	err   error // returned after the spans instead of io.EOF
}

type fakeSpan struct {
	head string
	rest string // what the rest reader holds
	n    int64  // the rest's N (may exceed len(rest): truncation)
}

func (s *spanSource) Read(p []byte) (int, error) {
	return 0, errors.New("spanSource: Read called; want Span")
}

func (s *spanSource) Span() ([]byte, *io.LimitedReader, error) {
	if len(s.spans) == 0 {
		if s.err != nil {
			return nil, nil, s.err
		}
		return nil, nil, io.EOF
	}
	sp := s.spans[0]
	s.spans = s.spans[1:]
	return []byte(sp.head), &io.LimitedReader{R: strings.NewReader(sp.rest), N: sp.n}, nil
}

// fullSpans returns spans whose concatenation is want.
func fullSpans() ([]fakeSpan, string) {
	spans := []fakeSpan{
		{head: "ab", rest: "cdef", n: 4},
		{head: "", rest: "ghij", n: 4},
		{head: "klm", rest: "", n: 0},
	}
	return spans, "abcdefghijklm"
}

func TestSpliceSpans(t *testing.T) {
	// A source of known size: Splice splices it, SpliceChunked copies it.
	for _, tc := range []struct {
		s       bodycopy.Strategy
		size    int64
		path    func(bodycopy.SpliceCounts) bodycopy.PathCounts
		spliced uint64
	}{
		{bodycopy.Splice, 13, func(c bodycopy.SpliceCounts) bodycopy.PathCounts { return c.Sized }, 1},
		{bodycopy.SpliceChunked, 13, func(c bodycopy.SpliceCounts) bodycopy.PathCounts { return c.Sized }, 0},
		{bodycopy.Splice, -1, func(c bodycopy.SpliceCounts) bodycopy.PathCounts { return c.Spans }, 1},
		{bodycopy.SpliceChunked, -1, func(c bodycopy.SpliceCounts) bodycopy.PathCounts { return c.Spans }, 1},
	} {
		t.Run(fmt.Sprintf("%s/size=%d", tc.s.Name(), tc.size), func(t *testing.T) {
			spans, want := fullSpans()
			// A source that is both: a copy that does not splice reads.
			src := &readableSpans{spanSource: &spanSource{spans: spans}, r: strings.NewReader(want)}
			var dst bytes.Buffer // has ReadFrom
			before := bodycopy.ReadSpliceCounts()
			n, err := tc.s.Copy(context.Background(), &dst, src, tc.size)
			if err != nil || n != int64(len(want)) || dst.String() != want {
				t.Fatalf("Copy = %d, %v, %q; want %d, nil, %q", n, err, dst.String(), len(want), want)
			}
			got := tc.path(bodycopy.ReadSpliceCounts().Sub(before))
			if want := (bodycopy.PathCounts{Spliced: tc.spliced}); got != want {
				t.Errorf("counts went up by %+v; want %+v", got, want)
			}
		})
	}
}

// readableSpans is a SpliceSource whose Read works too.
type readableSpans struct {
	*spanSource
	r io.Reader
}

func (s *readableSpans) Read(p []byte) (int, error) { return s.r.Read(p) }

func TestSpliceSpanFailures(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name  string
		src   *spanSource
		size  int64
		side  bodycopy.Side
		isErr error
	}{
		{"rest ends early", &spanSource{spans: []fakeSpan{{head: "ab", rest: "cd", n: 5}}}, 7, bodycopy.SideRead, io.ErrUnexpectedEOF},
		{"span fails", &spanSource{spans: []fakeSpan{{head: "ab", n: 0}}, err: boom}, -1, bodycopy.SideRead, boom},
		{"body shorter than size", &spanSource{spans: []fakeSpan{{head: "ab", n: 0}}}, 3, bodycopy.SideRead, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dst bytes.Buffer
			_, err := bodycopy.Splice.Copy(context.Background(), &dst, tc.src, tc.size)
			if !errors.Is(err, tc.isErr) || bodycopy.SideOf(err) != tc.side {
				t.Errorf("Copy error = %v (side %v); want %v on side %v", err, bodycopy.SideOf(err), tc.isErr, tc.side)
			}
		})
	}
	t.Run("write fails", func(t *testing.T) {
		spans, _ := fullSpans()
		_, err := bodycopy.Splice.Copy(context.Background(), failWriter{}, &spanSource{spans: spans}, 13)
		if bodycopy.SideOf(err) != bodycopy.SideWrite {
			t.Errorf("Copy error = %v (side %v); want a write-side error", err, bodycopy.SideOf(err))
		}
	})
}

// failWriter fails every Write and ReadFrom.
type failWriter struct{}

func (failWriter) Write(p []byte) (int, error)         { return 0, errors.New("client gone") }
func (failWriter) ReadFrom(r io.Reader) (int64, error) { return 0, errors.New("client gone") }
