package gatewayroute

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestAnnounce(t *testing.T) {
	cond := func(typ string, ok bool, reason string) metav1.Condition {
		st := metav1.ConditionFalse
		if ok {
			st = metav1.ConditionTrue
		}
		return metav1.Condition{Type: typ, Status: st, Reason: reason, Message: reason}
	}
	healthy := []metav1.Condition{
		cond(scopegatev1alpha1.ConditionAccepted, true, scopegatev1alpha1.ReasonAccepted),
		cond(scopegatev1alpha1.ConditionBackendResolved, true, scopegatev1alpha1.ReasonResolved),
		cond(scopegatev1alpha1.ConditionScopesSatisfiable, true, scopegatev1alpha1.ReasonSatisfiable),
		cond(scopegatev1alpha1.ConditionReachable, true, scopegatev1alpha1.ReasonAuthorizedClients),
		cond(scopegatev1alpha1.ConditionReady, true, scopegatev1alpha1.ReasonReady),
	}
	conflicting := slices.Clone(healthy)
	conflicting[0] = cond(scopegatev1alpha1.ConditionAccepted, false, scopegatev1alpha1.ReasonPathConflict)
	conflicting[4] = cond(scopegatev1alpha1.ConditionReady, false, scopegatev1alpha1.ReasonPathConflict)
	noEndpoints := slices.Clone(healthy)
	noEndpoints[1] = cond(scopegatev1alpha1.ConditionBackendResolved, false, scopegatev1alpha1.ReasonNoReadyEndpoints)
	noEndpoints[4] = cond(scopegatev1alpha1.ConditionReady, false, scopegatev1alpha1.ReasonNoReadyEndpoints)
	cases := []struct {
		name          string
		before, after []metav1.Condition
		want          []string // reasons, in order
	}{
		{"a healthy new route is announced once, as Ready", nil, healthy, []string{scopegatev1alpha1.ReasonReady}},
		{"a new route announces what failed and Ready", nil, conflicting, []string{scopegatev1alpha1.ReasonPathConflict, scopegatev1alpha1.ReasonPathConflict}},
		{"a later change announces every condition that changed", healthy, noEndpoints, []string{scopegatev1alpha1.ReasonNoReadyEndpoints, scopegatev1alpha1.ReasonNoReadyEndpoints}},
		{"a recovery announces the conditions that recovered", conflicting, healthy, []string{scopegatev1alpha1.ReasonAccepted, scopegatev1alpha1.ReasonReady}},
		{"the same result again stays quiet", healthy, healthy, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := events.NewFakeRecorder(10)
			r := &StatusReconciler{Recorder: rec}
			gr := route("team", "r", "/r", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			r.announce(&gr, tc.before, tc.after)
			close(rec.Events)
			var got []string
			for e := range rec.Events {
				// "<type> <reason> <note>"
				got = append(got, strings.Fields(e)[1])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("announced %q, want %q", got, tc.want)
			}
		})
	}
}
