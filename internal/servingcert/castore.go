package servingcert

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Keys of the CA Secret (auto mode).
const (
	// KeyCASet holds the CA set as JSON: certificates, keys and when each
	// starts signing.
	KeyCASet = "cas.json"
	// The CA Secret also holds KeyCACert ("ca.crt"), the bundle, for
	// people and tools.
)

type storedCA struct {
	Cert       string    `json:"cert"`
	Key        string    `json:"key"`
	ActivateAt time.Time `json:"activateAt"`
}

// encodeCAs serialises a CA set for the CA Secret.
func encodeCAs(cas []CA) ([]byte, error) {
	out := make([]storedCA, 0, len(cas))
	for _, c := range cas {
		der, err := x509.MarshalPKCS8PrivateKey(c.Key)
		if err != nil {
			return nil, fmt.Errorf("encode CA key: %w", err)
		}
		out = append(out, storedCA{
			Cert:       string(EncodeCerts(c.Cert)),
			Key:        string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
			ActivateAt: c.ActivateAt.UTC(),
		})
	}
	return json.Marshal(out)
}

// decodeCAs reads the CA set of the CA Secret; a Secret without one holds
// an empty set.
func decodeCAs(s *corev1.Secret) ([]CA, error) {
	raw, ok := s.Data[KeyCASet]
	if !ok {
		return nil, nil
	}
	var in []storedCA
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("decode %s: %w", KeyCASet, err)
	}
	out := make([]CA, 0, len(in))
	for i, sc := range in {
		certs, err := ParseCerts([]byte(sc.Cert))
		if err != nil {
			return nil, fmt.Errorf("decode CA %d: %w", i, err)
		}
		b, _ := pem.Decode([]byte(sc.Key))
		if b == nil {
			return nil, fmt.Errorf("decode CA %d: no PEM private key", i)
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("decode CA %d key: %w", i, err)
		}
		key, ok := k.(*ecdsa.PrivateKey)
		if !ok || !key.PublicKey.Equal(certs[0].PublicKey) {
			return nil, fmt.Errorf("decode CA %d: the key does not match the certificate", i)
		}
		out = append(out, CA{Cert: certs[0], Key: key, ActivateAt: sc.ActivateAt})
	}
	return out, nil
}
