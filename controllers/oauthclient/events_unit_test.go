package oauthclient

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

func TestAClientWakesForItsSecretsUpdateAndDeletionButNotItsCreation(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "worker-token"}}
	changed := s.DeepCopy()
	changed.Data = map[string][]byte{"access_token": []byte("edited")}
	if ownedSecretEvents.Create(event.CreateEvent{Object: s}) {
		t.Error("a created Secret wakes its client: every client of a burst or a takeover gets a second, idle pass")
	}
	if !ownedSecretEvents.Update(event.UpdateEvent{ObjectOld: s, ObjectNew: changed}) {
		t.Error("an edited Secret does not wake its client, which would not restore it")
	}
	if !ownedSecretEvents.Delete(event.DeleteEvent{Object: s}) {
		t.Error("a deleted Secret does not wake its client, which would not write it again")
	}
	if !ownedSecretEvents.Generic(event.GenericEvent{Object: s}) {
		t.Error("a generic event of a Secret does not wake its client")
	}
}
