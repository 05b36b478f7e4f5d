package copytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"go.uber.org/goleak"
)

// Option adjusts what TestStrategy accepts.
type Option func(*options)

type options struct {
	sideUnknown bool
}

// AllowSideUnknown accepts copy.SideUnknown where a failure on a socket is
// expected to be SideRead or SideWrite. Pass it only for a strategy whose
// documentation says a splice failure cannot be attributed.
func AllowSideUnknown() Option { return func(o *options) { o.sideUnknown = true } }

// wait bounds every wait in the suite. It is a deadline for a hung copy,
// not a timing assertion: a passing run never waits for it.
const wait = 10 * time.Second

// TestStrategy runs the conformance suite against s. See the package
// documentation for what it checks.
func TestStrategy(t *testing.T, s bodycopy.Strategy, opts ...Option) {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("sizes", func(t *testing.T) { testSizes(t, s) })
	t.Run("iotest", func(t *testing.T) { testIOTest(t, s) })
	t.Run("errors", func(t *testing.T) { testErrors(t, s) })
	t.Run("cancel", func(t *testing.T) { testCancel(t, s) })
	t.Run("unix-tcp", func(t *testing.T) { testSockets(t, s, o) })
}

// Sizes: 0, 1, each boundary the strategies use −1/±0/+1, and many
// buffers.
var sizes = func() []int {
	s := []int{0, 1}
	for _, b := range []int{512, 2 << 10, 4 << 10, 32 << 10, 1 << 20} {
		s = append(s, b-1, b, b+1)
	}
	return append(s, 1<<20+7)
}()

// Data returns n deterministic bytes whose pattern does not repeat every
// power of two, so a misplaced or repeated buffer shows.
func Data(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// hint is one way to state a body's size.
type hint struct {
	name    string
	size    func(n int) int64
	wantEOF func(n int) bool // whether the hint promises more than n bytes
}

var hints = []hint{
	{"exact", func(n int) int64 { return int64(n) }, never},
	{"unknown", func(int) int64 { return -1 }, never},
	{"small", func(n int) int64 { return int64(n / 3) }, never},
	{"large", func(n int) int64 { return int64(n) + 1 }, always},
}

func never(int) bool  { return false }
func always(int) bool { return true }

// Sources: the same bytes through a plain reader, an io.WriterTo and an
// *io.LimitedReader.
var sources = []struct {
	name string
	make func(p []byte) io.Reader
}{
	{"reader", func(p []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(p)} }},
	{"writerto", func(p []byte) io.Reader { return bytes.NewReader(p) }},
	{"limited", func(p []byte) io.Reader {
		return &io.LimitedReader{R: struct{ io.Reader }{bytes.NewReader(p)}, N: int64(len(p))}
	}},
}

// Destinations: a plain writer and an io.ReaderFrom (*bytes.Buffer).
// Each is made with room for n bytes, so that growing it does not
// dominate the suite's run time under the race detector.
var dests = []struct {
	name string
	make func(n int) (io.Writer, *bytes.Buffer)
}{
	{"writer", func(n int) (io.Writer, *bytes.Buffer) {
		b := bytes.NewBuffer(make([]byte, 0, n+1))
		return struct{ io.Writer }{b}, b
	}},
	{"readerfrom", func(n int) (io.Writer, *bytes.Buffer) {
		b := bytes.NewBuffer(make([]byte, 0, n+1))
		return b, b
	}},
}

func testSizes(t *testing.T, s bodycopy.Strategy) {
	for _, n := range sizes {
		t.Run(fmt.Sprintf("size=%d", n), func(t *testing.T) {
			data := Data(n)
			for _, h := range hints {
				for _, src := range sources {
					for _, d := range dests {
						name := fmt.Sprintf("hint=%s/src=%s/dst=%s", h.name, src.name, d.name)
						dst, got := d.make(n)
						size := h.size(n)
						nw, err := s.Copy(t.Context(), dst, src.make(data), size)
						checkCopied(t, name, nw, got.Bytes(), data)
						checkSizeErr(t, name, err, h.wantEOF(n))
					}
				}
			}
		})
	}
	t.Run("background", func(t *testing.T) {
		// A context that can never be done takes no cancellation path.
		data := Data(4097)
		var got bytes.Buffer
		nw, err := s.Copy(context.Background(), struct{ io.Writer }{&got}, bytes.NewReader(data), int64(len(data)))
		checkCopied(t, "background", nw, got.Bytes(), data)
		checkSizeErr(t, "background", err, false)
	})
}

// checkCopied checks that all of want, and nothing else, was written.
func checkCopied(t *testing.T, name string, n int64, got, want []byte) {
	t.Helper()
	if n != int64(len(want)) {
		t.Errorf("%s: Copy returned %d bytes; want %d", name, n, len(want))
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: dst holds %d bytes (first difference at %d); want the %d bytes of src",
			name, len(got), firstDiff(got, want), len(want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// checkSizeErr checks err: nil, or, when the hint promised more than src
// had, a read-side *copy.Error wrapping io.ErrUnexpectedEOF.
func checkSizeErr(t *testing.T, name string, err error, wantEOF bool) {
	t.Helper()
	if !wantEOF {
		if err != nil {
			t.Errorf("%s: Copy error = %v; want nil", name, err)
		}
		return
	}
	var ce *bodycopy.Error
	if !errors.As(err, &ce) || ce.Side != bodycopy.SideRead || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%s: Copy error = %v; want a read-side *copy.Error wrapping io.ErrUnexpectedEOF", name, err)
	}
}

// checkSide checks that err is an *copy.Error on side want wrapping target.
func checkSide(t *testing.T, name string, err error, want bodycopy.Side, target error, unknownOK bool) {
	t.Helper()
	var ce *bodycopy.Error
	if !errors.As(err, &ce) {
		t.Errorf("%s: Copy error = %v; want a *copy.Error", name, err)
		return
	}
	if got := bodycopy.SideOf(err); got != want && !(unknownOK && got == bodycopy.SideUnknown) {
		t.Errorf("%s: SideOf(%v) = %v; want %v", name, err, got, want)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("%s: Copy error = %v; want one wrapping %v", name, err, target)
	}
}

var (
	errRead  = errors.New("copytest: read failed")
	errWrite = errors.New("copytest: write failed")
)

// failAfter reads its data, then fails with errRead.
type failAfter struct{ r io.Reader }

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		err = errRead
	}
	return n, err
}

func testIOTest(t *testing.T, s bodycopy.Strategy) {
	readers := []struct {
		name string
		make func(p []byte) io.Reader
	}{
		{"OneByteReader", func(p []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(p)) }},
		{"HalfReader", func(p []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(p)) }},
		{"DataErrReader", func(p []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(p)) }},
	}
	for _, n := range []int{0, 1, 4097, 32<<10 + 1} {
		data := Data(n)
		for _, r := range readers {
			for _, h := range hints[:2] {
				for _, d := range dests {
					name := fmt.Sprintf("%s/size=%d/hint=%s/dst=%s", r.name, n, h.name, d.name)
					dst, got := d.make(n)
					nw, err := s.Copy(t.Context(), dst, r.make(data), h.size(n))
					checkCopied(t, name, nw, got.Bytes(), data)
					checkSizeErr(t, name, err, false)
				}
			}
			name := fmt.Sprintf("%s/size=%d/hint=large", r.name, n)
			var got bytes.Buffer
			nw, err := s.Copy(t.Context(), &got, r.make(data), int64(n)+1)
			checkCopied(t, name, nw, got.Bytes(), data)
			checkSizeErr(t, name, err, true)
		}
	}
	for _, d := range dests {
		t.Run("dst="+d.name, func(t *testing.T) {
			data := Data(64 << 10)
			// TimeoutReader: the second Read fails with no data.
			dst, got := d.make(len(data))
			nw, err := s.Copy(t.Context(), dst, iotest.TimeoutReader(bytes.NewReader(data)), int64(len(data)))
			checkSide(t, "TimeoutReader", err, bodycopy.SideRead, iotest.ErrTimeout, false)
			if nw != int64(got.Len()) || !bytes.HasPrefix(data, got.Bytes()) {
				t.Errorf("TimeoutReader: Copy returned %d and dst holds %d bytes; want the same count, a prefix of src", nw, got.Len())
			}

			dst, got = d.make(len(data))
			nw, err = s.Copy(t.Context(), dst, iotest.ErrReader(errRead), -1)
			checkSide(t, "ErrReader", err, bodycopy.SideRead, errRead, false)
			if nw != 0 || got.Len() != 0 {
				t.Errorf("ErrReader: Copy returned %d, dst holds %d bytes; want 0 and 0", nw, got.Len())
			}

			dst, got = d.make(len(data))
			nw, err = s.Copy(t.Context(), dst, &failAfter{bytes.NewReader(data)}, int64(len(data)))
			checkSide(t, "failAfter", err, bodycopy.SideRead, errRead, false)
			checkCopied(t, "failAfter", nw, got.Bytes(), data)
		})
	}
}

// failWriter accepts limit bytes, then fails with errWrite; with short set
// it instead writes less than asked, without an error.
type failWriter struct {
	buf   bytes.Buffer
	limit int
	short bool
}

func (w *failWriter) Write(p []byte) (int, error) {
	room := w.limit - w.buf.Len()
	if len(p) <= room {
		return w.buf.Write(p)
	}
	w.buf.Write(p[:room])
	if w.short {
		return room, nil
	}
	return room, errWrite
}

// failReaderFrom is a failWriter with an io.ReaderFrom that reads src and
// writes through the failWriter, passing read errors on as they are.
type failReaderFrom struct{ *failWriter }

func (w failReaderFrom) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{w.failWriter}, r)
}

func testErrors(t *testing.T, s bodycopy.Strategy) {
	const limit = 40000 // inside the second 32 KiB buffer
	data := Data(1 << 20)
	for _, src := range sources {
		for _, size := range []int64{-1, int64(len(data))} {
			name := fmt.Sprintf("src=%s/size=%d", src.name, size)

			w := &failWriter{limit: limit}
			nw, err := s.Copy(t.Context(), w, src.make(data), size)
			checkSide(t, name+"/dst=failing", err, bodycopy.SideWrite, errWrite, false)
			checkCopied(t, name+"/dst=failing", nw, w.buf.Bytes(), data[:limit])

			w = &failWriter{limit: limit, short: true}
			nw, err = s.Copy(t.Context(), w, src.make(data), size)
			checkSide(t, name+"/dst=short", err, bodycopy.SideWrite, io.ErrShortWrite, false)
			checkCopied(t, name+"/dst=short", nw, w.buf.Bytes(), data[:limit])

			w = &failWriter{limit: limit}
			nw, err = s.Copy(t.Context(), failReaderFrom{w}, src.make(data), size)
			checkSide(t, name+"/dst=failing-readerfrom", err, bodycopy.SideWrite, errWrite, false)
			checkCopied(t, name+"/dst=failing-readerfrom", nw, w.buf.Bytes(), data[:limit])
		}
	}
	w := &failWriter{limit: 1 << 30}
	nw, err := s.Copy(t.Context(), failReaderFrom{w}, &failAfter{bytes.NewReader(data)}, -1)
	checkSide(t, "src=failing/dst=readerfrom", err, bodycopy.SideRead, errRead, false)
	checkCopied(t, "src=failing/dst=readerfrom", nw, w.buf.Bytes(), data)
}

// result is what a Copy run in a goroutine returned.
type result struct {
	n   int64
	err error
}

func copyAsync(ctx context.Context, s bodycopy.Strategy, dst io.Writer, src io.Reader, size int64) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := s.Copy(ctx, dst, src, size)
		ch <- result{n, err}
	}()
	return ch
}

// await returns what the copy returned, failing the test when it is still
// blocked after the deadline.
func await(t *testing.T, name string, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(wait):
		t.Fatalf("%s: Copy still blocked %v after its context was cancelled", name, wait)
		return result{}
	}
}

// awaitSignal waits for ch to close.
func awaitSignal(t *testing.T, name, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("%s: no %s after %v", name, what, wait)
	}
}

// signalWriter is a goroutine-safe writer that closes first on its first
// write.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan struct{}
}

func newSignalWriter() *signalWriter { return &signalWriter{first: make(chan struct{})} }

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() == 0 && len(p) > 0 {
		close(w.first)
	}
	return w.buf.Write(p)
}

// endless reads Data's pattern forever; it has no WriteTo.
type endless struct{ off int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e.off*7 + e.off/251)
		e.off++
	}
	return len(p), nil
}

var errCause = errors.New("copytest: client went away")

func testCancel(t *testing.T, s bodycopy.Strategy) {
	hello := []byte("hello")
	silent := []struct {
		name string
		src  func(c net.Conn) io.Reader
		size int64
	}{
		{"raw/unknown", func(c net.Conn) io.Reader { return c }, -1},
		{"raw/known", func(c net.Conn) io.Reader { return c }, 1000},
		{"limited/known", func(c net.Conn) io.Reader { return &io.LimitedReader{R: c, N: 1000} }, 1000},
	}
	for _, tc := range silent {
		t.Run("silent-src/"+tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			go b.Write(hello) // then silence; ends when a is closed
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			dst := newSignalWriter()
			ch := copyAsync(ctx, s, dst, tc.src(a), tc.size)
			awaitSignal(t, tc.name, "first write", dst.first)
			cancel()
			r := await(t, tc.name, ch)
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("%s: Copy error = %v; want one wrapping context.Canceled", tc.name, r.err)
			}
			if r.n != int64(len(hello)) {
				t.Errorf("%s: Copy returned %d bytes; want %d", tc.name, r.n, len(hello))
			}
		})
	}
	t.Run("stuck-dst", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		read := make(chan struct{})
		go func() {
			b.Read(make([]byte, 1)) // then never read again
			close(read)
		}()
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		ch := copyAsync(ctx, s, a, &endless{}, -1)
		awaitSignal(t, "stuck-dst", "first read by the peer", read)
		cancel(errCause)
		r := await(t, "stuck-dst", ch)
		if !errors.Is(r.err, context.Canceled) || !errors.Is(r.err, errCause) {
			t.Errorf("stuck-dst: Copy error = %v; want one wrapping context.Canceled and the cause", r.err)
		}
	})
	t.Run("cancelled-before", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r := await(t, "cancelled-before", copyAsync(ctx, s, new(bytes.Buffer), a, -1))
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("cancelled-before: Copy error = %v; want one wrapping context.Canceled", r.err)
		}
	})
	t.Run("cancelled-after", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var got bytes.Buffer
		data := Data(100)
		nw, err := s.Copy(ctx, &got, bytes.NewReader(data), 100)
		cancel()
		checkCopied(t, "cancelled-after", nw, got.Bytes(), data)
		checkSizeErr(t, "cancelled-after", err, false)
	})
}
