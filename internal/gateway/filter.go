package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/scopegate/scopegate/internal/jsonrpc"
)

// maxListAnswer bounds a list answer (a JSON body, or one event of a
// stream) the gateway reads to filter it; a larger one fails the request
// (502) rather than pass unfiltered.
const maxListAnswer = 16 << 20

// errUnfilterable is a list answer the gateway cannot filter.
var errUnfilterable = errors.New("list answer cannot be filtered")

// filterLists filters the answers to the request's tools/list,
// prompts/list, resources/list and resources/templates/list calls down to
// the items the caller may use (ItemPolicy.allowsListed with the token's
// scopes), in an application/json body or a text/event-stream, where only
// the answering event is rewritten and every other event streams through
// as it comes. Pagination cursors are kept as the server sent them: the
// next page is filtered the same way. On an MCP GET stream (f.listsByShape)
// every list answer is filtered, whatever request it answers. Where the
// protocol version has cacheScope (f.listsPrivate), the filtered lists are
// marked "private".
func (g *Gateway) filterLists(res *http.Response, f *forward) error {
	if res.StatusCode != http.StatusOK {
		return nil
	}
	if ce := res.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		// Accept-Encoding was removed on the way out; a server that
		// compresses anyway cannot be filtered.
		return fmt.Errorf("%w: Content-Encoding %s", errUnfilterable, ce)
	}
	var held []string
	if f.claims != nil {
		held = f.claims.Scopes()
	}
	lf := jsonrpc.ListFilter{
		Pending: make([]jsonrpc.PendingList, len(f.lists)),
		ByShape: f.listsByShape,
		Private: f.listsPrivate,
		Allow:   newListJudge(f.route.Items, held).allows,
	}
	for i, l := range f.lists {
		lf.Pending[i] = jsonrpc.PendingList{ID: l.id, Kind: l.kind}
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	switch mt {
	case "text/event-stream":
		res.Body = jsonrpc.NewSSEFilter(res.Body, lf, maxListAnswer)
		return nil
	case "application/json":
		if len(lf.Pending) == 0 {
			// Only event streams are filtered by shape: an MCP GET is
			// answered with one, and any other JSON under the route is not
			// an answer to a list request.
			return nil
		}
		lf.ByShape = false
		in := getListBuffer()
		defer putListBuffer(in)
		body, err := readSized((*in)[:0], io.LimitReader(res.Body, maxListAnswer+1), res.ContentLength, maxListAnswer)
		*in = body
		_ = res.Body.Close()
		if err != nil {
			return fmt.Errorf("read list answer: %w", err)
		}
		if len(body) > maxListAnswer {
			return fmt.Errorf("%w: larger than %d bytes", errUnfilterable, maxListAnswer)
		}
		out := getListBuffer()
		filtered, err := jsonrpc.AppendFilterJSONBody((*out)[:0], body, &lf)
		*out = filtered
		if err != nil {
			putListBuffer(out)
			return fmt.Errorf("%w: %w", errUnfilterable, err)
		}
		lb := &listBody{buf: out}
		lb.Reset(filtered)
		res.Body = lb
		res.ContentLength = int64(len(filtered))
		res.Header.Set("Content-Length", strconv.Itoa(len(filtered)))
		return nil
	}
	return nil
}

// maxPooledList is the largest buffer kept for the next list answer: a
// rare large answer is not held on to.
const maxPooledList = 1 << 20

// listBuffers hold list answers as they are read and as they go out, so
// that filtering one allocates next to nothing.
var listBuffers = sync.Pool{New: func() any { return new([]byte) }}

func getListBuffer() *[]byte { return listBuffers.Get().(*[]byte) }

func putListBuffer(b *[]byte) {
	if cap(*b) <= maxPooledList {
		*b = (*b)[:0]
		listBuffers.Put(b)
	}
}

// listBody is a filtered JSON list answer on its way to the client; its
// buffer goes back to the pool when the proxy closes it, and it reads as
// empty from then on.
type listBody struct {
	bytes.Reader
	buf *[]byte
}

func (b *listBody) Close() error {
	if b.buf != nil {
		b.Reset(nil)
		putListBuffer(b.buf)
		b.buf = nil
	}
	return nil
}
