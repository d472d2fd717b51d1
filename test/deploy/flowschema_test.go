package deploy

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// The manager's Lease requests are classified by the chart's FlowSchema
// into the API server's leader-election priority level, and nothing else
// of the manager's is.
func TestTheLeaseRequestsGetTheLeaderElectionPriorityLevel(t *testing.T) {
	const ns = "scopegate-system"
	fs := convert[flowcontrolv1.FlowSchema](t, find(decode(t, render(t, ns)), "FlowSchema", "scopegate-leader-election"))

	// config/default carries the same schema.
	b, err := os.ReadFile(filepath.Join(root, "config", "flowcontrol", "flowschema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var bundled flowcontrolv1.FlowSchema
	if err := yaml.UnmarshalStrict(b, &bundled); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(fs.Spec, bundled.Spec) {
		t.Errorf("the chart's FlowSchema %+v differs from config/flowcontrol's %+v", fs.Spec, bundled.Spec)
	}

	ctx := context.Background()
	if err := k8s.Create(ctx, fs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), fs) })
	// The API server's configuration controller marks the schema: not
	// dangling means the leader-election priority level exists.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got flowcontrolv1.FlowSchema
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(fs), &got); err != nil {
			t.Fatal(err)
		}
		if dangling := conditionOf(got.Status.Conditions, flowcontrolv1.FlowSchemaConditionDangling); dangling != nil {
			if dangling.Status != flowcontrolv1.ConditionFalse {
				t.Fatalf("the FlowSchema is dangling: %s", dangling.Message)
			}
			fs.UID = got.UID
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the API server did not mark the FlowSchema within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	var level flowcontrolv1.PriorityLevelConfiguration
	if err := k8s.Get(ctx, client.ObjectKey{Name: "leader-election"}, &level); err != nil {
		t.Fatal(err)
	}

	// Requests as the manager's ServiceAccount (impersonated: the API server
	// classifies after impersonation, before authorization).
	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":scopegate",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	classified := func(method, path string) (schema, priority string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, cfg.Host+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.Header.Get("X-Kubernetes-PF-FlowSchema-UID"), res.Header.Get("X-Kubernetes-PF-PriorityLevel-UID")
	}
	lease := "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases/scopegate.dev"
	// The schema takes a moment to reach the request classifier.
	for {
		schema, priority := classified(http.MethodGet, lease)
		if schema == string(fs.UID) {
			if priority != string(level.UID) {
				t.Errorf("the Lease GET went to priority level %s, want leader-election (%s)", priority, level.UID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Lease GET was classified by FlowSchema %q, want scopegate-leader-election (%s)", schema, fs.UID)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if schema, _ := classified(http.MethodGet, "/api/v1/namespaces/"+ns+"/secrets"); schema == string(fs.UID) {
		t.Error("the manager's Secret list was classified as leader election: the schema matches too much")
	}
	if schema, _ := classified(http.MethodGet, "/apis/coordination.k8s.io/v1/namespaces/default/leases/other"); schema == string(fs.UID) {
		t.Error("a Lease outside the release namespace was classified as scopegate's leader election")
	}
}

func conditionOf(cs []flowcontrolv1.FlowSchemaCondition, typ flowcontrolv1.FlowSchemaConditionType) *flowcontrolv1.FlowSchemaCondition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}
