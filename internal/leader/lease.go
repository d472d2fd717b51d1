package leader

import (
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// NewLeaseLock is the Lease namespace/name as a lock held under a unique
// identity (host name and a random suffix, as controller-runtime's). Its
// client has its own request timeout of half the renew deadline, so that a
// hung API server costs one renewal attempt, not the whole deadline.
func NewLeaseLock(cfg *rest.Config, namespace, name string, renewDeadline time.Duration) (resourcelock.Interface, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("leader election identity: %w", err)
	}
	c := rest.CopyConfig(cfg)
	if renewDeadline <= 0 {
		renewDeadline = DefaultRenewDeadline
	}
	c.Timeout = renewDeadline / 2
	rest.AddUserAgent(c, "leader-election")
	client, err := coordinationv1client.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("leader election client: %w", err)
	}
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: namespace, Name: name},
		Client:     client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: host + "_" + uuid.NewString()},
	}, nil
}
