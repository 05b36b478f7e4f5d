package upstream

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"sync"
)

// blockSize is the length of the shared content block. It is a multiple of
// pieceSize, so a 32 KiB piece taken at a 32 KiB-aligned offset never wraps.
const blockSize = 1 << 20

// pieceSize is the chunk size of the chunked tar endpoints: dockerd copies
// image saves and container exports through a 32 KiB buffer and flushes
// after each write, so each chunk carries 32 KiB.
const pieceSize = 32 << 10

// contentSeed seeds the ChaCha8 generator of the content block. It is part of
// the documented contract: changing it changes every ContentSHA256.
var contentSeed = [32]byte([]byte("sockproxy lab upstream content!!"))

// block is the 1 MiB block every body is cut from, generated once.
var block = sync.OnceValue(func() []byte {
	b := make([]byte, blockSize)
	rand.NewChaCha8(contentSeed).Read(b)
	return b
})

// Content returns the simulator's body of the given size: the 1 MiB block
// produced by math/rand/v2's ChaCha8 seeded with the 32 bytes
// "sockproxy lab upstream content!!", repeated and cut to size. Byte i of
// every body is block[i % 1 MiB], so a body of size n is a prefix of every
// larger one. The bytes are incompressible and cost nothing to serve.
//
// The reader also implements io.WriterTo, writing straight from the shared
// block. A negative size is treated as 0.
func Content(size int64) io.Reader {
	return &contentReader{size: max(size, 0)}
}

// contentReader reads the content stream from off up to size.
type contentReader struct {
	off, size int64
}

func (r *contentReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	b := block()
	start := r.off % blockSize
	n := copy(p, b[start:min(blockSize, start+r.size-r.off)])
	r.off += int64(n)
	return n, nil
}

// WriteTo writes the rest of the content to w in slices of the shared block.
func (r *contentReader) WriteTo(w io.Writer) (int64, error) {
	b := block()
	var written int64
	for r.off < r.size {
		start := r.off % blockSize
		n, err := w.Write(b[start:min(blockSize, start+r.size-r.off)])
		r.off += int64(n)
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// sums caches ContentSHA256 by size.
var sums sync.Map // int64 → [32]byte

// ContentSHA256 returns the sha256 of Content(size). Results are cached, so
// repeated calls for the sizes of a benchmark cost a map lookup.
func ContentSHA256(size int64) [32]byte {
	size = max(size, 0)
	if v, ok := sums.Load(size); ok {
		return v.([32]byte)
	}
	h := sha256.New()
	Content(size).(io.WriterTo).WriteTo(h)
	var sum [32]byte
	h.Sum(sum[:0])
	sums.Store(size, sum)
	return sum
}
