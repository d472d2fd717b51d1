package main

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// controllersLease is the Lease the replicas elect the controllers' leader
// with (leaderElectionID in the manager's leader.go), in operatorNamespace.
const controllersLease = "scopegate.dev"

// leaseState is the controllers' Lease at one moment: who holds it and how
// often it has changed hands.
type leaseState struct {
	holder      string
	transitions int32
}

// readLease reads the controllers' Lease; a Lease not created yet is the
// zero state.
func readLease(ctx context.Context, c client.Client) (leaseState, error) {
	var l coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: controllersLease}, &l); err != nil {
		if apierrors.IsNotFound(err) {
			return leaseState{}, nil
		}
		return leaseState{}, fmt.Errorf("read the controllers' Lease: %w", err)
	}
	var st leaseState
	if l.Spec.HolderIdentity != nil {
		st.holder = *l.Spec.HolderIdentity
	}
	if l.Spec.LeaseTransitions != nil {
		st.transitions = *l.Spec.LeaseTransitions
	}
	return st, nil
}

// waitLease waits until the controllers' Lease has a holder and returns it.
func waitLease(ctx context.Context, c client.Client, timeout time.Duration) (leaseState, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := readLease(ctx, c)
		if err != nil {
			return st, err
		}
		if st.holder != "" {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("no replica held the controllers' Lease %s/%s after %s", operatorNamespace, controllersLease, timeout)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
