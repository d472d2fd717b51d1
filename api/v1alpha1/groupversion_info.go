// Package v1alpha1 contains the scopegate.dev/v1alpha1 API: OAuthClient, which
// declares a machine client of the token server, and GatewayRoute, which
// declares a route through the embedded gateway.
//
// +kubebuilder:object:generate=true
// +groupName=scopegate.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "scopegate.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the API types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the API types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
