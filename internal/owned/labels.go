package owned

// Labels of the objects scopegate writes.
const (
	// LabelManagedBy with the value ManagedBy is on every object the writer
	// writes; the manager's Secret and ConfigMap caches hold only those.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "scopegate"
	// LabelComponent names the purpose of a Secret that is not a child of
	// an OAuthClient (signing-keys, serving-ca, serving-cert).
	LabelComponent = "scopegate.dev/component"
)
