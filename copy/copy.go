package copy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Strategy copies one source to one destination.
type Strategy interface {
	// Name returns the strategy's registry name, as used by -strategy and
	// in benchmark names.
	Name() string

	// Copy copies from src to dst until src is exhausted or an error occurs,
	// and returns the number of bytes written to dst.
	//
	// size is the number of bytes src holds when known, or -1. When
	// size >= 0 and src ends after fewer bytes, Copy fails with a read-side
	// *Error wrapping io.ErrUnexpectedEOF. Bytes beyond size are still
	// copied; enforcing the length is the caller's business.
	//
	// A successful Copy returns err == nil, not io.EOF. Any other error is an
	// *Error that says which side failed, or, when ctx was done first, an
	// error wrapping ctx.Err() (and ctx's cause, when one was given), so
	// that errors.Is(err, context.Canceled) holds. Cancelling ctx closes src
	// (or, for an *io.LimitedReader, the reader under it) and dst, each
	// where it is an io.Closer, so that a Copy blocked on either side
	// returns; a Copy whose src and dst cannot be closed cannot be
	// interrupted. A Copy that completed before it noticed the cancellation
	// still returns nil. Copy does not close src or dst otherwise.
	Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (written int64, err error)
}

// Side says which side of a copy failed.
type Side int

const (
	// SideUnknown is a failure that cannot be attributed, such as a splice
	// that moves bytes between two descriptors in one system call.
	SideUnknown Side = iota
	// SideRead is a failure reading the source.
	SideRead
	// SideWrite is a failure writing the destination.
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

// Error is a failed copy: which side failed, and why. Its text names the
// side as "source" or "destination"; a caller that knows who is behind
// each names them itself from Side and Err.
type Error struct {
	Side Side
	Err  error
}

func (e *Error) Error() string {
	switch e.Side {
	case SideRead:
		return "copy: reading source: " + e.Err.Error()
	case SideWrite:
		return "copy: writing destination: " + e.Err.Error()
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
// io.Closers) when ctx is done, so that a blocked Read or Write returns. An
// *io.LimitedReader is looked through: its R is what blocks, so R is what is
// closed. The caller must call finish with the copy's result: it stops that
// arrangement and replaces a failure with ctx's error when the context
// ended the copy. A copy that completed (err == nil) stays a success even
// when ctx was cancelled in the meantime: every byte reached dst.
//
// With a context that can never be done (ctx.Done() == nil) it returns nil,
// whose finish costs nothing; otherwise it costs the two small allocations
// of context.AfterFunc's registration per copy. Its own state (and the func
// value AfterFunc runs) comes from a pool, and goes back to it when finish
// finds the AfterFunc stopped before it ran; one whose AfterFunc ran is left
// to the garbage collector, since its goroutine may still hold it.
//
// A src with a method ClosesOnDone(ctx context.Context) bool that returns
// true ends a blocked Read by itself when ctx is done, as closing it would
// (its connection is closed by its owner's own registration on the same
// context): when dst is no io.Closer there is
// then nothing to arrange, and the copy costs no allocation at all; finish
// still turns a failure after ctx is done into ctx's error.
func closeOnCancel(ctx context.Context, dst io.Writer, src io.Reader) *canceller {
	if ctx.Done() == nil {
		return nil
	}
	c := cancellers.Get().(*canceller)
	c.ctx, c.dst, c.src = ctx, dst, src
	if _, ok := dst.(io.Closer); !ok {
		if s, ok := src.(interface{ ClosesOnDone(context.Context) bool }); ok && s.ClosesOnDone(ctx) {
			return c // c.stop == nil: nothing registered
		}
	}
	if lr, ok := src.(*io.LimitedReader); ok {
		c.src = lr.R
	}
	c.stop = context.AfterFunc(ctx, c.closeFn)
	return c
}

// canceller is closeOnCancel's state.
type canceller struct {
	ctx     context.Context
	dst     io.Writer
	src     io.Reader
	stop    func() bool // nil when src ends itself when ctx is done
	once    sync.Once
	closeFn func() // c.closeBoth, made once per canceller
}

var cancellers = sync.Pool{New: func() any {
	c := new(canceller)
	c.closeFn = c.closeBoth
	return c
}}

func (c *canceller) closeBoth() {
	c.once.Do(func() {
		if cl, ok := c.src.(io.Closer); ok {
			cl.Close()
		}
		if cl, ok := c.dst.(io.Closer); ok {
			cl.Close()
		}
	})
}

// finish returns the copy's error, or ctx's when ctx ended the copy.
func (c *canceller) finish(n int64, err error) error {
	if c == nil {
		return err
	}
	ctx := c.ctx
	if c.stop == nil {
		// src ended itself if ctx was done; nothing else holds c.
		c.recycle()
		if err == nil || ctx.Err() == nil {
			return err
		}
		return ctxError(ctx, n)
	}
	if c.stop() {
		// ctx did not fire during the copy, and now never runs closeBoth:
		// nothing else holds c.
		c.recycle()
		return err
	}
	// ctx fired. Wait until the closes have happened, so that the caller
	// never races them (if the AfterFunc goroutine has not started yet,
	// close here: the contract says cancelling closes src and dst).
	c.closeBoth()
	if err == nil {
		return nil
	}
	return ctxError(ctx, n)
}

// recycle returns c to the pool. Only a canceller whose closeBoth can no
// longer run may go back.
func (c *canceller) recycle() {
	c.ctx, c.dst, c.src, c.stop = nil, nil, nil, nil
	c.once = sync.Once{}
	cancellers.Put(c)
}

// ctxError is the error of a copy that ctx ended after n bytes.
func ctxError(ctx context.Context, n int64) error {
	// Whatever error the copy saw is a consequence of the close. Wrap
	// both ctx.Err() and the cause, so that errors.Is(err, context.Canceled)
	// holds even with a custom cause.
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return fmt.Errorf("copy stopped after %d bytes: %w: %w", n, ctx.Err(), cause)
	}
	return fmt.Errorf("copy stopped after %d bytes: %w", n, ctx.Err())
}

// errInvalidWrite means a Write returned a count outside [0, len(p)].
var errInvalidWrite = errors.New("invalid write result")

// write writes p to dst and labels a failure, a short write or an invalid
// count as a write-side *Error.
func write(dst io.Writer, p []byte) (int, error) {
	nw, werr := dst.Write(p)
	if nw < 0 || nw > len(p) {
		nw = 0
		if werr == nil {
			werr = errInvalidWrite
		}
	}
	if werr != nil {
		return nw, writeErr(werr)
	}
	if nw != len(p) {
		return nw, writeErr(io.ErrShortWrite)
	}
	return nw, nil
}

// checkSize reports a source that ended before the promised size.
func checkSize(written, size int64) error {
	if size >= 0 && written < size {
		return readErr(fmt.Errorf("body ended after %d of %d bytes: %w", written, size, io.ErrUnexpectedEOF))
	}
	return nil
}
