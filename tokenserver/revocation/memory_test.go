package revocation

import (
	"context"
	"testing"
	"time"
)

func TestMemoryForgetsRevocationsAfterExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(func() time.Time { return now })
	if err := m.Revoke(context.Background(), "j1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !m.Revoked("j1") || m.Revoked("j2") {
		t.Fatal("revocation not recorded")
	}
	now = now.Add(time.Hour + Retention)
	if m.CollectGarbage() != 0 || !m.Revoked("j1") {
		t.Fatal("forgotten within the retention")
	}
	now = now.Add(time.Second)
	if m.CollectGarbage() != 1 || m.Revoked("j1") {
		t.Fatal("not forgotten after the retention")
	}
}
