package apiserver

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Cached lists every object of T's kind as pointers to the objects the
// informer cache holds, for a caller that only reads them and does not keep
// them past its pass. A client.List, even with UnsafeDisableDeepCopy,
// copies each object's struct into a new slice of items: at 10,000
// OAuthClients that was megabytes per list, and most of what the manager
// allocated while working through a burst. With no informer cache (c nil,
// or not an informer underneath) it lists into list through r and points
// into it.
func Cached[T any, PT interface {
	*T
	client.Object
}](ctx context.Context, c cache.Cache, r client.Reader, list client.ObjectList) ([]PT, error) {
	if c != nil {
		inf, err := c.GetInformer(ctx, PT(new(T)))
		if err != nil {
			return nil, err
		}
		// A leader term's cache lends the serving manager's informers,
		// and their stores (internal/leader).
		if ix, ok := inf.(interface{ GetIndexer() toolscache.Indexer }); ok && ix.GetIndexer() != nil {
			all := ix.GetIndexer().List()
			out := make([]PT, 0, len(all))
			for _, o := range all {
				p, ok := o.(PT)
				if !ok {
					return nil, fmt.Errorf("the cache holds a %T, not a %T", o, PT(nil))
				}
				out = append(out, p)
			}
			return out, nil
		}
	}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]PT, len(objs))
	for i, o := range objs {
		p, ok := o.(PT)
		if !ok {
			return nil, fmt.Errorf("%T holds a %T, not a %T", list, o, PT(nil))
		}
		out[i] = p
	}
	return out, nil
}
