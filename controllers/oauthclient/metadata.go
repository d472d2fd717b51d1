package oauthclient

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// reservedPrefix marks the labels and annotations the controller itself
// writes; a Secret template cannot set them, or the template and the
// controller would overwrite each other on every pass.
const reservedPrefix = "scopegate.dev/"

// reservedKey reports whether k belongs to the controller, not the template.
func reservedKey(k string) bool {
	return strings.HasPrefix(k, reservedPrefix) || k == LabelManagedBy
}

// setMetadata sets the management label on s and converges the labels and
// annotations of template (nil: none). It reports whether s changed.
//
// The keys the template set are recorded on s (AnnotationTemplateLabels,
// AnnotationTemplateAnnotations), as cert-manager tracks its secretTemplate
// through field ownership: a key that left the template is removed, while a
// key that someone else added by hand is never touched.
func setMetadata(s *corev1.Secret, template *scopegatev1alpha1.SecretTemplate) bool {
	var labels, annotations map[string]string
	if template != nil {
		labels, annotations = template.Labels, template.Annotations
	}
	changed := convergeTemplated(&s.Labels, &s.Annotations, scopegatev1alpha1.AnnotationTemplateLabels, labels)
	if convergeTemplated(&s.Annotations, &s.Annotations, scopegatev1alpha1.AnnotationTemplateAnnotations, annotations) {
		changed = true
	}
	if setKey(&s.Labels, LabelManagedBy, ManagedBy) {
		changed = true
	}
	return changed
}

// convergeTemplated makes *target hold want (reserved keys excluded), removes
// the keys that the record annotation recordKey in *record lists and want no
// longer has, and updates the record. It reports whether anything changed.
func convergeTemplated(target, record *map[string]string, recordKey string, want map[string]string) bool {
	changed := false
	wanted := sets.New[string]()
	for k, v := range want {
		if reservedKey(k) {
			continue
		}
		wanted.Insert(k)
		if setKey(target, k, v) {
			changed = true
		}
	}
	for _, k := range splitKeys((*record)[recordKey]) {
		if wanted.Has(k) || reservedKey(k) {
			continue
		}
		if _, ok := (*target)[k]; ok {
			delete(*target, k)
			changed = true
		}
	}
	if wanted.Len() == 0 {
		if _, ok := (*record)[recordKey]; ok {
			delete(*record, recordKey)
			changed = true
		}
		return changed
	}
	if setKey(record, recordKey, strings.Join(sets.List(wanted), ",")) {
		changed = true
	}
	return changed
}

// setKey sets (*m)[k] = v, allocating the map, and reports whether it changed.
func setKey(m *map[string]string, k, v string) bool {
	if *m == nil {
		*m = map[string]string{}
	}
	if old, ok := (*m)[k]; ok && old == v {
		return false
	}
	(*m)[k] = v
	return true
}

// splitKeys reads a record annotation; label and annotation keys hold no
// commas (they are qualified names).
func splitKeys(v string) []string {
	if v == "" {
		return nil
	}
	return slices.DeleteFunc(strings.Split(v, ","), func(k string) bool { return k == "" })
}
