package copy_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/copy/copytest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sideUnknown lists the strategies whose doc says a splice failure may be
// SideUnknown.
var sideUnknown = map[string]bool{"readerfrom": true, "splice": true, "splice-chunked": true}

func TestStrategies(t *testing.T) {
	for _, name := range bodycopy.Names() {
		s, err := bodycopy.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		var opts []copytest.Option
		if sideUnknown[name] {
			opts = append(opts, copytest.AllowSideUnknown())
		}
		t.Run("strategy="+name, func(t *testing.T) { copytest.TestStrategy(t, s, opts...) })
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"alloc", "sized", "pooled", "readerfrom", "splice", "splice-chunked"}
	if got := bodycopy.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q; want %q", got, want)
	}
	for _, s := range []bodycopy.Strategy{bodycopy.Alloc, bodycopy.Sized, bodycopy.Pooled, bodycopy.ReaderFrom, bodycopy.Splice, bodycopy.SpliceChunked} {
		got, err := bodycopy.Lookup(s.Name())
		if err != nil || got != s {
			t.Errorf("Lookup(%q) = %v, %v; want the exported var, nil", s.Name(), got, err)
		}
	}
	_, err := bodycopy.Lookup("nope")
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "alloc, sized") {
		t.Errorf("Lookup(nope) error = %v; want one naming nope and the valid names", err)
	}
}

// chunkReader returns data in reads whose lengths come from chunks in turn
// (0 means a Read of no bytes and no error, never twice in a row); with
// eofWithData the last Read returns io.EOF along with its bytes.
type chunkReader struct {
	data        []byte
	chunks      []byte
	i           int
	lastEmpty   bool
	eofWithData bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(r.chunks) > 0 {
		c := int(r.chunks[r.i%len(r.chunks)])
		r.i++
		if c == 0 && r.lastEmpty {
			c = 1
		}
		n = min(n, c)
	}
	r.lastEmpty = n == 0
	n = copy(p, r.data[:min(n, len(r.data))])
	r.data = r.data[n:]
	if len(r.data) == 0 && r.eofWithData {
		return n, io.EOF
	}
	return n, nil
}

// FuzzCopy compares every strategy with io.Copy over arbitrary bytes, size
// hints and read chunking.
func FuzzCopy(f *testing.F) {
	f.Add([]byte("hello"), int64(-1), []byte{1, 2, 3}, false)
	f.Add([]byte{}, int64(0), []byte{}, true)
	f.Add(copytest.Data(70000), int64(70000), []byte{0, 255, 17}, true)
	f.Add(copytest.Data(5000), int64(9000), []byte{200}, false)
	f.Add(copytest.Data(5000), int64(3), []byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, size int64, chunks []byte, eofWithData bool) {
		size = max(size, -1)
		var want bytes.Buffer
		wn, werr := io.Copy(&want, &chunkReader{data: data, chunks: chunks, eofWithData: eofWithData})
		if werr != nil || wn != int64(len(data)) {
			t.Fatalf("io.Copy = %d, %v; want %d, nil", wn, werr, len(data))
		}
		for _, name := range bodycopy.Names() {
			s, _ := bodycopy.Lookup(name)
			for _, plain := range []bool{false, true} {
				var got bytes.Buffer
				var dst io.Writer = &got
				if plain {
					dst = struct{ io.Writer }{&got}
				}
				src := &chunkReader{data: data, chunks: chunks, eofWithData: eofWithData}
				n, err := s.Copy(t.Context(), dst, src, size)
				if n != wn || !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("%s (plain dst %v): copied %d bytes; io.Copy copied %d", name, plain, n, wn)
				}
				short := size > int64(len(data))
				switch {
				case short && (bodycopy.SideOf(err) != bodycopy.SideRead || !errors.Is(err, io.ErrUnexpectedEOF)):
					t.Errorf("%s (plain dst %v): error = %v; want a read-side io.ErrUnexpectedEOF", name, plain, err)
				case !short && err != nil:
					t.Errorf("%s (plain dst %v): error = %v; want nil", name, plain, err)
				}
			}
		}
	})
}
