package tokenserver

import (
	"bytes"
	"sync"
)

// buffers holds the small buffers an answer needs for a moment: the
// request body (a form of a few hundred bytes) and the encoded claims.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer leaves a buffer that grew for an unusual request (a large
// body, a client with hundreds of scopes) to the collector.
const maxPooledBuffer = 4 << 10

// getBuffer returns an empty buffer; putBuffer gives it back once nothing
// refers to its bytes.
func getBuffer() *bytes.Buffer {
	b := buffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		buffers.Put(b)
	}
}
