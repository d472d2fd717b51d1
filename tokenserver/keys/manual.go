package keys

import (
	"fmt"
	"time"
)

// Annotations on the signing-keys Secret for an on-demand rotation: setting
// AnnotationRotate to any new value makes the leader publish a new key that
// signs after ManualPrePublish; the handled value is recorded in
// AnnotationRotated. The regular schedule goes on from the new key.
const (
	AnnotationRotate  = "scopegate.dev/rotate-signing-key"
	AnnotationRotated = "scopegate.dev/rotated-signing-key"
)

// RotateNow returns s with a new key that activates at activateAt, replacing
// any key that was published but had not started signing yet (its successor
// now comes sooner). The current key is kept: it stays published for
// RetireAfter after the new key activates, so its tokens keep verifying.
func RotateNow(s Set, now, activateAt time.Time, gen func(now, activateAt time.Time) (Key, error)) (Set, error) {
	keys := make([]Key, 0, len(s.Keys)+1)
	for _, k := range s.Keys {
		if !k.ActivateAt.After(now) {
			keys = append(keys, k)
		}
	}
	k, err := gen(now, activateAt)
	if err != nil {
		return Set{}, fmt.Errorf("create signing key for an on-demand rotation: %w", err)
	}
	return Set{Keys: append(keys, k)}, nil
}
