package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

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
	policy := f.route.Items
	lf := jsonrpc.ListFilter{
		Pending: make([]jsonrpc.PendingList, len(f.lists)),
		ByShape: f.listsByShape,
		Private: f.listsPrivate,
		Allow:   func(k jsonrpc.ItemKind, name string) bool { return policy.allowsListed(k, name, held) },
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
		body, err := io.ReadAll(io.LimitReader(res.Body, maxListAnswer+1))
		_ = res.Body.Close()
		if err != nil {
			return fmt.Errorf("read list answer: %w", err)
		}
		if len(body) > maxListAnswer {
			return fmt.Errorf("%w: larger than %d bytes", errUnfilterable, maxListAnswer)
		}
		out, err := jsonrpc.FilterJSONBody(body, &lf)
		if err != nil {
			return fmt.Errorf("%w: %w", errUnfilterable, err)
		}
		res.Body = io.NopCloser(bytes.NewReader(out))
		res.ContentLength = int64(len(out))
		res.Header.Set("Content-Length", strconv.Itoa(len(out)))
		return nil
	}
	return nil
}
