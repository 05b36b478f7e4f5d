package copy

import "io"

// drained is the Read size below which a stream's source counts as
// drained: its next Read may block for long, so a stream holds no more
// than a small buffer (or, when its source can wait, none) until it
// speaks again.
const drained = 4 << 10

// copyLoop is the package's one Read/Write loop: it copies src to dst
// through the buffers bufs lends, using neither io.WriterTo nor
// io.ReaderFrom, and labels each error with its side. size is as in
// Strategy.Copy; a stream (size -1), or a body that outran its size,
// lets bufs adapt after every Read. It allocates nothing but what bufs
// takes from its pool, and gives that back before it returns.
func copyLoop(dst io.Writer, src io.Reader, size int64, bufs *buffers) (written int64, err error) {
	defer bufs.release()
	for {
		buf := bufs.take(src)
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := write(dst, buf[:nr])
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
		}
		if rerr == io.EOF {
			return written, checkSize(written, size)
		}
		if rerr != nil {
			return written, readErr(rerr)
		}
		if size < 0 || written > size {
			bufs.adapt(nr)
		}
	}
}

// buffers is what copyLoop reads through: one buffer for the whole copy
// (fixed), or buffers of a classPool's classes from start to top, which a
// stream takes, grows, shrinks and gives back as its source flows and
// drains (see Pooled).
type buffers struct {
	fixed []byte     // the buffer when pool is nil
	pool  *classPool // nil: fixed is used throughout
	b     *[]byte    // the pooled buffer in hand; nil: none yet, or given back while idle
	cur   int        // the class of b, or of the next buffer taken
	start int        // a stream's smallest class, taken back when it drains
	top   int        // a stream's largest class
	grown int        // the class a flowing stream has earned
	idle  bool       // src can wait (canWait): hold no buffer while it has no bytes
}

// fixedBuffers lends buf for the whole copy.
func fixedBuffers(buf []byte) buffers { return buffers{fixed: buf} }

// classBuffers lends buffers of p's class c only; idle as in buffers.
func classBuffers(p *classPool, c int, idle bool) buffers {
	return buffers{pool: p, cur: c, start: c, top: c, grown: c, idle: idle}
}

// take returns the buffer to read into. When none is in hand it takes one
// of class cur, after waiting for src's bytes when src can wait.
func (bs *buffers) take(src io.Reader) []byte {
	if bs.pool == nil {
		return bs.fixed
	}
	if bs.b == nil {
		if bs.idle {
			WaitReadable(src) // an error is the next Read's to report
		}
		bs.b = bs.pool.get(bs.cur)
	}
	return *bs.b
}

// adapt follows a stream's Read of nr bytes: a Read that filled the buffer
// moves to the grown class, or earns a class four times larger, up to top;
// a Read of less than drained bytes gives the buffer back when src can
// wait, and otherwise moves to start. A Read of drained bytes or more that
// does not fill the buffer keeps it: the source is still flowing at its own
// pace, and shrinking would split its next piece into two writes.
func (bs *buffers) adapt(nr int) {
	p := bs.pool
	if p == nil {
		return
	}
	n := p.size(bs.cur)
	switch {
	case bs.idle && nr < drained:
		p.put(bs.cur, bs.b)
		bs.cur, bs.b = bs.start, nil
	case nr == n && bs.cur < bs.grown:
		bs.swap(bs.grown) // flowing again after a pause
	case nr == n && bs.cur < bs.top:
		bs.grown = min(bs.cur+2, bs.top)
		bs.swap(bs.grown)
	case nr < n && bs.cur > bs.start && nr < drained:
		bs.swap(bs.start)
	}
}

// swap replaces the buffer in hand with one of class c.
func (bs *buffers) swap(c int) {
	if c != bs.cur {
		bs.pool.put(bs.cur, bs.b)
		bs.cur, bs.b = c, bs.pool.get(c)
	}
}

// release gives back the buffer in hand, if any.
func (bs *buffers) release() {
	if bs.b != nil {
		bs.pool.put(bs.cur, bs.b)
		bs.b = nil
	}
}
