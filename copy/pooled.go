package copy

import (
	"context"
	"io"
)

// Pooled's size classes: powers of two from 512 B to 1 MiB. Streams start
// at pooledStreamStart and grow by a factor of four up to pooledStreamMax.
const (
	pooledMin         = 512
	pooledMax         = 1 << 20
	pooledStreamStart = 4 << 10
	pooledStreamMax   = 256 << 10
)

// pooledPool holds Pooled's classes: 512 B, 1, 2, 4, … 512 KiB, 1 MiB.
var pooledPool = newClassPool(pooledMin, pooledMax)

// Pooled copies through buffers from sync.Pools of *[]byte in power-of-two
// size classes from 512 B to 1 MiB, with a plain Read/Write loop (no
// io.WriterTo, no io.ReaderFrom, so no splice). Once the pools are warm it
// allocates nothing (BenchmarkCopy: the 4 allocs/op of cancellation, at
// every size); a Get that finds its class empty allocates the buffer and
// its pointer.
//
// A known size (size >= 0) takes the smallest class that holds it, capped
// at 1 MiB: 512 B for a ping, 2 KiB for a 1536-byte JSON answer, 1 MiB for
// an image layer. The buffer is kept for the whole copy, even while the
// source stalls.
//
// An unknown size (-1, a stream) starts at 4 KiB and grows only while data
// keeps flowing: a Read that fills the whole buffer moves to a buffer four
// times larger, up to 256 KiB. A Read that comes back with less than 4 KiB
// means the source has drained, so the next Read may block for a long time:
// the large buffer goes back to its pool and that Read uses a 4 KiB one. A
// stream of small messages (events, logs, an attached shell) so never pins
// more than 4 KiB while idle; when a Read fills again, the copy takes the
// grown size back at once. A short Read of 4 KiB or more keeps the buffer:
// the source is still flowing at its own pace (an image save arrives in
// pieces of a few KiB to 32 KiB), and shrinking would split the next piece
// into two writes (each a flush of its own where dst flushes). The cost:
// a stream that stops right after such a Read holds its grown buffer (at
// most 256 KiB) until the source speaks again.
// A body that outruns its size hint is treated as a stream from then on.
//
// A stream whose source can wait for readability ([WaitReadable]: a
// [ReadWaiter], or a raw socket, also behind connection wrappers) holds
// no buffer at all while idle: before its first Read, and after every Read
// of less than 4 KiB, the buffer goes back to its pool and the copy waits
// for the source's next bytes, taking a buffer again only when they are
// there. A source that cannot wait
// (such as an http.Transport response body) keeps its 4 KiB buffer while
// idle.
var Pooled Strategy = pooledStrategy{}

type pooledStrategy struct{}

func (pooledStrategy) Name() string { return "pooled" }

func (pooledStrategy) Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (int64, error) {
	c := closeOnCancel(ctx, dst, src)
	n, err := pooledCopy(dst, src, size)
	return n, c.finish(n, err)
}

func pooledCopy(dst io.Writer, src io.Reader, size int64) (int64, error) {
	p := pooledPool
	bufs := buffers{pool: p, start: p.class(pooledStreamStart), top: p.class(pooledStreamMax)}
	bufs.cur = bufs.start
	if size >= 0 {
		bufs.cur = p.class(size)
	}
	bufs.grown = max(bufs.cur, bufs.start)
	// A stream whose source can wait holds no buffer while waiting for
	// its first bytes and after a short Read.
	bufs.idle = size < 0 && canWait(src)
	return copyLoop(dst, src, size, &bufs)
}
