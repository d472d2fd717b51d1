package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// DefaultNoncePeriod is how often the server nonce changes. A nonce is
// accepted in its own period and the next (and the previous, for replicas
// whose clocks run slightly ahead), so it lives one to two periods.
const DefaultNoncePeriod = 5 * time.Minute

// nonceLabel separates nonce MACs from any other use of the same key.
const nonceLabel = "scopegate DPoP-Nonce v1\x00"

// NonceKeys returns the keys nonces are made with: the first one makes new
// nonces, every one verifies. All replicas that serve the same clients
// must return the same keys, or a nonce from one replica is refused by
// the next (the client is then sent a new nonce and retries).
type NonceKeys func() ([][]byte, error)

// Nonces makes and checks stateless server nonces (RFC 9449 §8): the
// period number and an HMAC of it, base64url (32 characters of the
// NQCHAR set). Nothing is stored; a nonce cannot be predicted for a future
// period without the key, which is what limits how long ahead a client can
// make proofs.
type Nonces struct {
	keys   NonceKeys
	period time.Duration
	now    func() time.Time
}

// NewNonces returns a nonce source; period defaults to DefaultNoncePeriod
// and now to time.Now.
func NewNonces(keys NonceKeys, period time.Duration, now func() time.Time) *Nonces {
	if period <= 0 {
		period = DefaultNoncePeriod
	}
	if now == nil {
		now = time.Now
	}
	return &Nonces{keys: keys, period: period, now: now}
}

// Current is the nonce to send in DPoP-Nonce now.
func (n *Nonces) Current() (string, error) {
	keys, err := n.keys()
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return "", errors.New("no DPoP nonce key")
	}
	return n.make(keys[0], n.bucket()), nil
}

// valid reports whether nonce was made by one of the keys in the current,
// previous or next period.
func (n *Nonces) valid(nonce string) (bool, error) {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 8+16 {
		return false, nil
	}
	b := binary.BigEndian.Uint64(raw[:8])
	cur := n.bucket()
	if b+1 < cur || b > cur+1 {
		return false, nil
	}
	keys, err := n.keys()
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if hmac.Equal([]byte(n.make(k, b)), []byte(nonce)) {
			return true, nil
		}
	}
	return false, nil
}

func (n *Nonces) bucket() uint64 {
	return uint64(n.now().UnixNano() / int64(n.period))
}

func (n *Nonces) make(key []byte, bucket uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], bucket)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(nonceLabel))
	m.Write(b[:])
	out := append(b[:], m.Sum(nil)[:16]...)
	return base64.RawURLEncoding.EncodeToString(out)
}
