package apiserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FirstPass tells when a feed — a controller that copies objects from the
// cache into memory, such as the client registry feed or the route-table
// feed — has reconciled every object its cache held at the first sync. A
// synced cache alone does not mean the registry holds the clients yet: the
// feed's queue may still be draining.
type FirstPass struct {
	list client.ObjectList

	mu   sync.Mutex
	fed  map[types.NamespacedName]struct{}
	done bool
}

// NewFirstPass follows a feed of the objects of list's kind (an empty
// list, e.g. &OAuthClientList{}).
func NewFirstPass(list client.ObjectList) *FirstPass {
	return &FirstPass{list: list, fed: map[types.NamespacedName]struct{}{}}
}

// Fed records that the feed reconciled key without an error. After the
// first pass it does nothing.
func (p *FirstPass) Fed(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		p.fed[key] = struct{}{}
	}
}

// wait lists the objects in r (the synced cache) and returns once the feed
// has reconciled each of them.
func (p *FirstPass) wait(ctx context.Context, r client.Reader, every time.Duration) error {
	list := p.list.DeepCopyObject().(client.ObjectList)
	// Names alone are read: no deep copy of every object.
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list %T: %w", list, err)
	}
	var want []types.NamespacedName
	if err := meta.EachListItem(list, func(o runtime.Object) error {
		m, err := meta.Accessor(o)
		if err != nil {
			return err
		}
		want = append(want, types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()})
		return nil
	}); err != nil {
		return fmt.Errorf("list %T: %w", list, err)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if p.fedAll(want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// fedAll reports whether every key in want was fed; once true it forgets
// the keys and stops recording.
func (p *FirstPass) fedAll(want []types.NamespacedName) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range want {
		if _, ok := p.fed[k]; !ok {
			return false
		}
	}
	p.done, p.fed = true, nil
	return true
}
