package gateway

import "sync"

// proxyBufferSize is httputil.ReverseProxy's own copy buffer size.
const proxyBufferSize = 32 << 10

// bufferPool recycles the reverse proxy's copy buffers. Without one,
// httputil.ReverseProxy allocates (and zeroes) 32 KiB per response: in the
// profile of the gateway under load that was over half of all bytes
// allocated by the manager and a sixth of the gateway's CPU, most of it in
// the allocator and the garbage collector (docs/benchmarks.md).
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any {
		b := make([]byte, proxyBufferSize)
		return &b
	}}}
}

// Get implements httputil.BufferPool.
func (bp *bufferPool) Get() []byte { return *bp.p.Get().(*[]byte) }

// Put implements httputil.BufferPool. Buffers of another size (none are
// handed out) are dropped.
func (bp *bufferPool) Put(b []byte) {
	if cap(b) != proxyBufferSize {
		return
	}
	b = b[:proxyBufferSize]
	bp.p.Put(&b)
}

// get and put hand out the buffer by its pointer, for the lean path:
// Put of httputil.BufferPool takes a slice, which costs an allocation to
// pool again.
func (bp *bufferPool) get() *[]byte { return bp.p.Get().(*[]byte) }

func (bp *bufferPool) put(b *[]byte) { bp.p.Put(b) }
