package tokenserver

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

// BenchmarkVerifyCachePutWhenFull is a cache miss on a gateway that sees
// more live tokens than the cache holds: every put must make room.
func BenchmarkVerifyCachePutWhenFull(b *testing.B) {
	now := time.Unix(0, 0)
	c := newVerifyCache(DefaultVerifyCacheSize)
	claims := &accesstoken.Claims{}
	var k [sha256.Size]byte
	i := uint64(0)
	for ; i < DefaultVerifyCacheSize; i++ {
		binary.LittleEndian.PutUint64(k[:], i)
		c.put(k, claims, "kid", now.Add(time.Hour), now)
	}
	b.ReportAllocs()
	for b.Loop() {
		i++
		binary.LittleEndian.PutUint64(k[:], i)
		c.put(k, claims, "kid", now.Add(time.Hour), now)
	}
}
