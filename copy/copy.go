package copy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Strategy copies one body from src to dst.
type Strategy interface {
	// Name returns the strategy's registry name, as used by -strategy and
	// in benchmark names.
	Name() string

	// Copy copies from src to dst until src is exhausted or an error occurs,
	// and returns the number of bytes written to dst.
	//
	// size is the body length when known (a Content-Length) or -1. When
	// size >= 0 and src ends after fewer bytes, Copy fails with a read-side
	// *Error wrapping io.ErrUnexpectedEOF. Bytes beyond size are still
	// copied; enforcing the length is the caller's business.
	//
	// A successful Copy returns err == nil, not io.EOF. Any other error is an
	// *Error that says which side failed, or, when ctx was done first, an
	// error wrapping ctx's cause. Cancelling ctx closes src, and dst when it
	// is an io.Closer, so that a Copy blocked on either side returns.
	// Copy does not close src or dst otherwise.
	Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (written int64, err error)
}

// Side says which side of a copy failed.
type Side int

const (
	// SideUnknown is a failure that cannot be attributed, such as a splice
	// that moves bytes between two descriptors in one system call.
	SideUnknown Side = iota
	// SideRead is a failure reading the source: the upstream.
	SideRead
	// SideWrite is a failure writing the destination: the client.
	SideWrite
)

// String returns "read", "write" or "unknown".
func (s Side) String() string {
	switch s {
	case SideRead:
		return "read"
	case SideWrite:
		return "write"
	}
	return "unknown"
}

// Error is a failed copy: which side failed, and why.
type Error struct {
	Side Side
	Err  error
}

func (e *Error) Error() string {
	switch e.Side {
	case SideRead:
		return "copy: reading upstream: " + e.Err.Error()
	case SideWrite:
		return "copy: writing to client: " + e.Err.Error()
	}
	return "copy: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// SideOf returns the Side of the first *Error in err's chain, or SideUnknown.
func SideOf(err error) Side {
	var e *Error
	if errors.As(err, &e) {
		return e.Side
	}
	return SideUnknown
}

// readErr and writeErr label an error with its side.
func readErr(err error) error  { return &Error{Side: SideRead, Err: err} }
func writeErr(err error) error { return &Error{Side: SideWrite, Err: err} }

// closeOnCancel arranges for src and dst to be closed (where they are
// io.Closers) when ctx is done, so that a blocked Read or Write returns. The
// returned finish function stops that arrangement and, given the copy's
// error, replaces it with ctx's cause when the context ended the copy.
func closeOnCancel(ctx context.Context, dst io.Writer, src io.Reader) (finish func(n int64, err error) error) {
	if ctx.Done() == nil {
		return func(_ int64, err error) error { return err }
	}
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			if c, ok := src.(io.Closer); ok {
				c.Close()
			}
			if c, ok := dst.(io.Closer); ok {
				c.Close()
			}
		})
	}
	stop := context.AfterFunc(ctx, closeBoth)
	return func(n int64, err error) error {
		if !stop() && ctx.Err() != nil {
			// The context fired: whatever error the copy saw is a
			// consequence of the close.
			once.Do(func() {}) // wait for closeBoth to finish
			return fmt.Errorf("copy stopped after %d bytes: %w", n, context.Cause(ctx))
		}
		return err
	}
}

// copyBuffer copies src to dst through buf, using neither io.WriterTo nor
// io.ReaderFrom, and labels each error with its side. size is as in
// Strategy.Copy.
func copyBuffer(dst io.Writer, src io.Reader, buf []byte, size int64) (int64, error) {
	var written int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			if nw > 0 {
				written += int64(nw)
			}
			if werr != nil {
				return written, writeErr(werr)
			}
			if nw != nr {
				return written, writeErr(io.ErrShortWrite)
			}
		}
		if rerr == io.EOF {
			return written, checkSize(written, size)
		}
		if rerr != nil {
			return written, readErr(rerr)
		}
	}
}

// checkSize reports a source that ended before the promised size.
func checkSize(written, size int64) error {
	if size >= 0 && written < size {
		return readErr(fmt.Errorf("body ended after %d of %d bytes: %w", written, size, io.ErrUnexpectedEOF))
	}
	return nil
}
