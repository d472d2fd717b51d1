package gateway

import "testing"

func TestTheBufferPoolHandsOutFullSizedBuffersAndDropsForeignOnes(t *testing.T) {
	bp := newBufferPool()
	b := bp.Get()
	if len(b) != proxyBufferSize {
		t.Fatalf("buffer of %d bytes, want %d", len(b), proxyBufferSize)
	}
	bp.Put(b[:10]) // a resliced buffer comes back at full length
	if got := bp.Get(); len(got) != proxyBufferSize {
		t.Fatalf("recycled buffer of %d bytes, want %d", len(got), proxyBufferSize)
	}
	bp.Put(make([]byte, 100)) // not ours: dropped, never handed out short
	for range 4 {
		if got := bp.Get(); len(got) != proxyBufferSize {
			t.Fatalf("buffer of %d bytes after a foreign Put, want %d", len(got), proxyBufferSize)
		}
	}
}
