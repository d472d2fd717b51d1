package oauthclient

import (
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestSetMetadata(t *testing.T) {
	tmpl := func(labels, annotations map[string]string) *scopegatev1alpha1.SecretTemplate {
		return &scopegatev1alpha1.SecretTemplate{Labels: labels, Annotations: annotations}
	}
	cases := []struct {
		name            string
		labels, annots  map[string]string
		steps           []*scopegatev1alpha1.SecretTemplate
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		{
			name:            "A template's keys are set and recorded",
			steps:           []*scopegatev1alpha1.SecretTemplate{tmpl(map[string]string{"team": "a"}, map[string]string{"example.com/x": "1"})},
			wantLabels:      map[string]string{"team": "a", LabelManagedBy: ManagedBy},
			wantAnnotations: map[string]string{"example.com/x": "1", scopegatev1alpha1.AnnotationTemplateLabels: "team", scopegatev1alpha1.AnnotationTemplateAnnotations: "example.com/x"},
		},
		{
			name:   "Keys that left the template are removed, keys added by hand stay",
			labels: map[string]string{"by-hand": "yes"}, annots: map[string]string{"example.com/by-hand": "yes"},
			steps: []*scopegatev1alpha1.SecretTemplate{
				tmpl(map[string]string{"team": "a", "tier": "gold"}, map[string]string{"example.com/x": "1", "example.com/y": "2"}),
				tmpl(map[string]string{"team": "a"}, map[string]string{"example.com/y": "3"}),
			},
			wantLabels: map[string]string{"team": "a", "by-hand": "yes", LabelManagedBy: ManagedBy},
			wantAnnotations: map[string]string{"example.com/y": "3", "example.com/by-hand": "yes",
				scopegatev1alpha1.AnnotationTemplateLabels: "team", scopegatev1alpha1.AnnotationTemplateAnnotations: "example.com/y"},
		},
		{
			name:   "Removing the template removes its keys and the record",
			labels: map[string]string{"by-hand": "yes"},
			steps: []*scopegatev1alpha1.SecretTemplate{
				tmpl(map[string]string{"team": "a"}, map[string]string{"example.com/x": "1"}),
				nil,
			},
			wantLabels:      map[string]string{"by-hand": "yes", LabelManagedBy: ManagedBy},
			wantAnnotations: map[string]string{},
		},
		{
			name: "A template cannot set the controller's own keys",
			steps: []*scopegatev1alpha1.SecretTemplate{tmpl(
				map[string]string{LabelManagedBy: "someone-else", "scopegate.dev/x": "y"},
				map[string]string{scopegatev1alpha1.AnnotationRevision: "99", scopegatev1alpha1.AnnotationTemplateLabels: "kube-system"})},
			wantLabels:      map[string]string{LabelManagedBy: ManagedBy},
			wantAnnotations: map[string]string{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(c.labels), Annotations: maps.Clone(c.annots)}}
			for _, step := range c.steps {
				setMetadata(s, step)
			}
			if !maps.Equal(s.Labels, c.wantLabels) {
				t.Errorf("labels = %v, want %v", s.Labels, c.wantLabels)
			}
			if len(s.Annotations) != 0 || len(c.wantAnnotations) != 0 {
				if !maps.Equal(s.Annotations, c.wantAnnotations) {
					t.Errorf("annotations = %v, want %v", s.Annotations, c.wantAnnotations)
				}
			}
			if setMetadata(s, c.steps[len(c.steps)-1]) {
				t.Error("a second pass with the same template changed the Secret")
			}
		})
	}
}

func TestTemplateCannotBreakTheTokenSecret(t *testing.T) {
	issued := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tok := signToken(t, "k1", "team-a.c", []string{"mcp"}, []string{"mcp"}, issued, time.Hour)
	s := tokenSecretFor(tok, 3, "h")
	setMetadata(s, &scopegatev1alpha1.SecretTemplate{Annotations: map[string]string{
		scopegatev1alpha1.AnnotationNotAfter: "2099-01-01T00:00:00Z",
		scopegatev1alpha1.AnnotationRevision: "1",
	}})
	st, err := parseTokenSecret(s, "team-a.c")
	if err != nil {
		t.Fatalf("a template with the controller's annotations made the Secret unreadable: %v", err)
	}
	if st.Revision != 3 {
		t.Fatalf("revision = %d, want 3", st.Revision)
	}
}
