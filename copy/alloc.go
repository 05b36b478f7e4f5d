package copy

import (
	"context"
	"io"
)

// allocBufSize is the buffer httputil.ReverseProxy allocates per copy when it
// has no BufferPool.
const allocBufSize = 32 * 1024

// Alloc is the baseline: what httputil.ReverseProxy does without a
// BufferPool. Every Copy allocates a fresh 32 KiB buffer (one heap
// allocation of 32 KiB per body, whatever its size) and loops Read/Write
// through it. It never uses io.WriterTo or io.ReaderFrom, so no fast path or
// splice can run.
//
// One departure from httputil: a stream (size -1) whose source can wait for
// readability ([WaitReadable]) is waited on before the buffer is
// allocated, so that a stream that never speaks (an idle event stream)
// allocates nothing. Once allocated, the buffer is kept for the whole copy.
var Alloc Strategy = allocStrategy{}

type allocStrategy struct{}

func (allocStrategy) Name() string { return "alloc" }

func (allocStrategy) Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (int64, error) {
	c := closeOnCancel(ctx, dst, src)
	if size < 0 {
		// An error here (a closed source) is the first Read's to report.
		WaitReadable(src)
	}
	bufs := fixedBuffers(make([]byte, allocBufSize))
	n, err := copyLoop(dst, src, size, &bufs)
	return n, c.finish(n, err)
}
