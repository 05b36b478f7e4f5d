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
var Alloc Strategy = allocStrategy{}

type allocStrategy struct{}

func (allocStrategy) Name() string { return "alloc" }

func (allocStrategy) Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (int64, error) {
	c := closeOnCancel(ctx, dst, src)
	buf := make([]byte, allocBufSize)
	n, err := copyBuffer(dst, src, buf, size)
	return n, c.finish(n, err)
}
