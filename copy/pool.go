package copy

import (
	"math/bits"
	"sync"
)

// classPool is a set of sync.Pools of *[]byte, one per power-of-two size
// class from minSize to minSize<<(len(pools)-1). It pools pointers, not
// slices, so that Put does not allocate. A Get that finds its pool empty
// allocates the buffer and its pointer: two allocations, once per
// concurrently used buffer until the GC drains the pool.
type classPool struct {
	minShift int // log2 of the smallest class
	pools    []sync.Pool
}

func newClassPool(minSize, maxSize int) *classPool {
	minShift := bits.Len(uint(minSize)) - 1
	n := bits.Len(uint(maxSize)) - minShift
	return &classPool{minShift: minShift, pools: make([]sync.Pool, n)}
}

// class returns the smallest class that holds n bytes, capped at the
// largest class.
func (p *classPool) class(n int64) int {
	if n <= 1<<p.minShift {
		return 0
	}
	c := bits.Len64(uint64(n-1)) - p.minShift
	return min(c, len(p.pools)-1)
}

// size returns the buffer size of class c.
func (p *classPool) size(c int) int { return 1 << (p.minShift + c) }

// get returns a buffer of class c, len == cap == p.size(c).
func (p *classPool) get(c int) *[]byte {
	if b, ok := p.pools[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, p.size(c))
	return &b
}

// put returns a buffer got from class c.
func (p *classPool) put(c int, b *[]byte) { p.pools[c].Put(b) }
