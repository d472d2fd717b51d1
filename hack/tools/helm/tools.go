//go:build tools

// Package helm pins the Helm command that hack/build-helm.sh builds for the
// chart tests (`helm lint`, `helm template`) and for users of dist/chart.
package helm

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
