package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/devcluster"
	"github.com/scopegate/scopegate/internal/owned"
)

// writesSample is what one Ready client of a scale run consists of on the
// server: the OAuthClient with its status, the Secrets the manager wrote
// for it, and the Events it emitted about it.
type writesSample struct {
	client  *scopegatev1alpha1.OAuthClient
	secrets []corev1.Secret
	events  []eventsv1.Event
}

// sampleWrites reads the first client of the scale run and what the
// manager wrote for it.
func sampleWrites(ctx context.Context, c client.Client) (*writesSample, error) {
	s := &writesSample{client: &scopegatev1alpha1.OAuthClient{}}
	if err := c.Get(ctx, client.ObjectKeyFromObject(benchClient(0)), s.client); err != nil {
		return nil, err
	}
	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets, client.InNamespace(benchNamespace), client.MatchingLabels{owned.LabelManagedBy: owned.ManagedBy}); err != nil {
		return nil, err
	}
	for _, sec := range secrets.Items {
		if slices.ContainsFunc(sec.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == s.client.UID }) {
			s.secrets = append(s.secrets, sec)
		}
	}
	var events eventsv1.EventList
	if err := c.List(ctx, &events, client.InNamespace(benchNamespace)); err != nil {
		return nil, err
	}
	for _, ev := range events.Items {
		if ev.Regarding.UID == s.client.UID {
			s.events = append(s.events, ev)
		}
	}
	if len(s.secrets) == 0 {
		return nil, fmt.Errorf("no Secret of %s carries its owner reference", s.client.Name)
	}
	return s, nil
}

// writesFloor is how long a plain client-go program with the harness's 16
// writers takes to make, on a fresh control plane of its own (as the scale
// run's, with no manager), the writes that n Ready clients consist of:
// per client the OAuthClient, the manager's Secrets as written, a status
// patch to the sampled status and the sampled Events. It is the control
// plane's floor for "n clients applied at once, all Ready" on this machine.
func writesFloor(ctx context.Context, o *options, n int, sample *writesSample) (*floorResult, error) {
	dir := filepath.Join(o.workDir, fmt.Sprintf("writes-floor-%d", n))
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cl, err := devcluster.Start(sctx, devcluster.Options{Dir: dir, Namespaces: []string{benchNamespace}})
	if err != nil {
		return nil, fmt.Errorf("start the writes floor's control plane: %w", err)
	}
	defer func() {
		if err := cl.Stop(); err != nil {
			say("stop the writes floor's control plane: %v", err)
		}
	}()
	c, err := harnessClient(cl.Config)
	if err != nil {
		return nil, err
	}
	status, err := json.Marshal(map[string]any{"status": sample.client.Status})
	if err != nil {
		return nil, err
	}
	cpu := func() (time.Duration, error) { return clusterCPU(cl, dir) }
	cpu0, err := cpu()
	if err != nil {
		return nil, err
	}
	res := &floorResult{perClient: 2 + len(sample.secrets) + len(sample.events)}
	start := time.Now()
	err = forEach(ctx, n, func(i int) error {
		oc := benchClient(i)
		oc.Spec = *sample.client.Spec.DeepCopy()
		if err := c.Create(ctx, oc); err != nil {
			return err
		}
		owner := metav1.OwnerReference{APIVersion: scopegatev1alpha1.GroupVersion.String(), Kind: "OAuthClient", Name: oc.Name, UID: oc.UID,
			Controller: new(true), BlockOwnerDeletion: new(true)}
		for j := range sample.secrets {
			s := copyForFloor(&sample.secrets[j].ObjectMeta, i, j)
			sec := &corev1.Secret{ObjectMeta: s, Type: sample.secrets[j].Type, Data: sample.secrets[j].Data}
			sec.OwnerReferences = []metav1.OwnerReference{owner}
			if err := c.Create(ctx, sec); err != nil {
				return err
			}
		}
		if err := c.Status().Patch(ctx, oc, client.RawPatch(types.MergePatchType, status)); err != nil {
			return err
		}
		for j := range sample.events {
			ev := sample.events[j].DeepCopy()
			ev.ObjectMeta = copyForFloor(&ev.ObjectMeta, i, j)
			ev.Regarding.Name, ev.Regarding.UID, ev.Regarding.ResourceVersion = oc.Name, oc.UID, oc.ResourceVersion
			if err := c.Create(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	res.wall = time.Since(start)
	if err != nil {
		return nil, err
	}
	cpu1, err := cpu()
	if err != nil {
		return nil, err
	}
	res.controlPlaneCPU = cpu1 - cpu0
	return res, nil
}

// floorResult is one writes floor: how long the writes took, how many
// there are per client, and the CPU time its control plane spent on them.
type floorResult struct {
	wall            time.Duration
	perClient       int
	controlPlaneCPU time.Duration
}

// copyForFloor is meta as a new object of the floor: its labels and
// annotations, a name of its own, no server-set fields.
func copyForFloor(meta *metav1.ObjectMeta, i, j int) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        fmt.Sprintf("floor-%05d-%d", i, j),
		Namespace:   benchNamespace,
		Labels:      meta.Labels,
		Annotations: meta.Annotations,
	}
}
