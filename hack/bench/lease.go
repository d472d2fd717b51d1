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

// waitLease waits, until deadline, for the controllers' Lease to have a
// holder other than not ("" for any holder) and returns it.
func waitLease(ctx context.Context, c client.Client, deadline time.Time, not string) (leaseState, error) {
	for {
		st, err := readLease(ctx, c)
		if err != nil {
			return st, err
		}
		if st.holder != "" && st.holder != not {
			return st, nil
		}
		if err := pause(ctx, deadline, 100*time.Millisecond, fmt.Sprintf("a replica to hold the controllers' Lease %s/%s", operatorNamespace, controllersLease)); err != nil {
			return st, err
		}
	}
}
