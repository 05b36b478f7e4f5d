package wire

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// finisher ends a response on its connection exactly once: back to the
// pool when the body was read to its end and the request was fully sent,
// closed otherwise.
type finisher struct {
	rc    *conn
	ctx   context.Context
	stop  func() bool
	wrote chan error // the request body writer's result, or nil
	keep  bool
	done  atomic.Bool
}

// finish returns the connection to the pool (ok and reusable) or closes
// it. Only the first call acts.
func (f *finisher) finish(ok bool) {
	if !f.done.CompareAndSwap(false, true) {
		return
	}
	if f.stop != nil && !f.stop() {
		ok = false // the context closed the connection
	}
	if f.wrote != nil {
		if ok {
			select {
			case err := <-f.wrote:
				ok = err == nil
			default:
				// The response is complete but the request body's writer
				// has not reported: it is between its last write and its
				// report, or still sending a body the upstream answered
				// without waiting for. Decide when it reports.
				go f.finishLate()
				return
			}
		}
		if !ok {
			f.rc.close() // the writer fails on the closed conn; wrote has room for its report
			return
		}
	}
	if ok && f.keep && f.rc.t != nil {
		f.rc.t.putIdle(f.rc)
		return
	}
	f.rc.close()
}

// lateWriterGrace is how long a connection whose response ended before
// its request body's writer reported waits for that report before it is
// closed. Only such a connection waits, outside the request's path: a
// writer that finishes in time keeps the connection for reuse, one that
// does not (the upstream answered early and stopped reading, or the client
// paused its upload) is ended by the close.
const lateWriterGrace = time.Second

// finishLate is finish's end for a response that completed before its
// request body was known to be sent: the connection goes back to the pool
// once the writer reports success within lateWriterGrace, and is closed
// otherwise.
func (f *finisher) finishLate() {
	t := time.NewTimer(lateWriterGrace)
	defer t.Stop()
	select {
	case err := <-f.wrote:
		if err == nil && f.keep && f.rc.t != nil {
			f.rc.t.putIdle(f.rc)
			return
		}
	case <-t.C:
	}
	f.rc.close()
}

// closesOnDone reports whether ctx is done when the request's context is,
// which closes the connection while the body is being read.
func (f *finisher) closesOnDone(ctx context.Context) bool {
	return f.stop != nil && ctx.Done() != nil && ctx.Done() == f.ctx.Done()
}

// readErr wraps a body read failure; a done context is the cause.
func (f *finisher) readErr(err error) error {
	f.finish(false)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if f.ctx != nil && f.ctx.Err() != nil {
		return fmt.Errorf("raw transport: reading response body: %w (%w)", f.ctx.Err(), err)
	}
	return fmt.Errorf("raw transport: reading response body: %w", err)
}
