package keys

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/scopegate/scopegate/internal/owned"
)

// SecretDataKey is the Secret key holding the key set as JSON.
const SecretDataKey = "keys.json"

// Labels every scopegate-managed object carries; the manager's cache only
// sees Secrets with the managed-by label.
const (
	ManagedByLabel = owned.LabelManagedBy
	ManagedByValue = owned.ManagedBy
	// ComponentLabel marks the Secret's purpose.
	ComponentLabel = owned.LabelComponent
	ComponentValue = "signing-keys"
)

// storedKey is one key in the Secret. The private key is PKCS #8 DER,
// base64 in JSON.
type storedKey struct {
	ID         string    `json:"kid"`
	Algorithm  string    `json:"alg"`
	CreatedAt  time.Time `json:"createdAt"`
	ActivateAt time.Time `json:"activateAt"`
	PrivateKey []byte    `json:"privateKey"`
}

type storedSet struct {
	Keys []storedKey `json:"keys"`
}

// encodeSet serialises s for the Secret.
func encodeSet(s Set) ([]byte, error) {
	out := storedSet{Keys: make([]storedKey, 0, len(s.Keys))}
	for _, k := range s.Keys {
		der, err := marshalPrivate(k.Private)
		if err != nil {
			return nil, fmt.Errorf("encode key %s: %w", k.ID, err)
		}
		out.Keys = append(out.Keys, storedKey{ID: k.ID, Algorithm: Algorithm, CreatedAt: k.CreatedAt, ActivateAt: k.ActivateAt, PrivateKey: der})
	}
	return json.Marshal(out)
}

// decodeSecret reads the key set from sec. The kid is recomputed from the
// key, not trusted from the document.
func decodeSecret(sec *corev1.Secret) (Set, error) {
	raw, ok := sec.Data[SecretDataKey]
	if !ok {
		return Set{}, nil
	}
	var in storedSet
	if err := json.Unmarshal(raw, &in); err != nil {
		return Set{}, fmt.Errorf("decode %s: %w", SecretDataKey, err)
	}
	s := Set{Keys: make([]Key, 0, len(in.Keys))}
	for i, sk := range in.Keys {
		if sk.Algorithm != Algorithm {
			return Set{}, fmt.Errorf("decode key %d: unsupported algorithm %q", i, sk.Algorithm)
		}
		priv, err := parsePrivate(sk.PrivateKey)
		if err != nil {
			return Set{}, fmt.Errorf("decode key %d: %w", i, err)
		}
		kid, err := Thumbprint(&priv.PublicKey)
		if err != nil {
			return Set{}, fmt.Errorf("decode key %d: %w", i, err)
		}
		s.Keys = append(s.Keys, Key{ID: kid, Private: priv, CreatedAt: sk.CreatedAt, ActivateAt: sk.ActivateAt})
	}
	// A Set is ordered by ActivateAt (Current and the retirement times rely
	// on it); a hand-edited or restored Secret need not be.
	sort.SliceStable(s.Keys, func(i, j int) bool { return s.Keys[i].ActivateAt.Before(s.Keys[j].ActivateAt) })
	return s, nil
}
