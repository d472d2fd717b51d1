package gatewayroute

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/llm"
)

// DefaultLLMKey is the Secret key of a provider's API key when
// apiKeySecretRef names none.
const DefaultLLMKey = "apiKey"

// llmProviderState is one provider resolved: its upstream and its key.
type llmProviderState struct {
	provider *gateway.LLMProvider
	// problem says why the provider cannot be called ("" when it can), for
	// the route's status; it names Secrets and keys, never their contents.
	problem, reason string
}

// resolveLLM resolves an LLM route's providers: each one's backend (its
// own, or the route's already resolved as routeBackend) and its key, read
// with reader (the API server; c, the cache, when reader is nil).
func resolveLLM(ctx context.Context, c, reader client.Reader, gr *scopegatev1alpha1.GatewayRoute, routeBackend backend) ([]llmProviderState, error) {
	spec := gr.Spec.LLM
	if spec == nil {
		return nil, nil
	}
	if reader == nil {
		reader = c
	}
	out := make([]llmProviderState, 0, len(spec.Providers))
	for _, ps := range spec.Providers {
		be := routeBackend
		if ps.Backend != nil {
			var err error
			if be, err = resolveBackendOf(ctx, c, gr.Namespace, *ps.Backend); err != nil {
				return nil, err
			}
		}
		p := &gateway.LLMProvider{Name: ps.Name, Format: llm.Format(ps.Format), Endpoints: be.Endpoints, Path: be.Path, TLS: serverNameTLS(be.ServerName)}
		st := llmProviderState{provider: p}
		if !be.Resolved {
			st.reason, st.problem = scopegatev1alpha1.ReasonProviderBackendUnresolved, fmt.Sprintf("provider %s: %s", ps.Name, be.Message)
		}
		key, err := readLLMKey(ctx, reader, gr.Namespace, ps.APIKeySecretRef)
		if err != nil {
			p.KeyError = err.Error()
			st.reason, st.problem = scopegatev1alpha1.ReasonProviderKeyUnavailable, fmt.Sprintf("provider %s: %s", ps.Name, err.Error())
		} else {
			p.Key = key
		}
		out = append(out, st)
	}
	return out, nil
}

// readLLMKey reads a provider's key. The error names the Secret and key,
// never a value.
func readLLMKey(ctx context.Context, reader client.Reader, ns string, ref scopegatev1alpha1.LLMKeySelector) (string, error) {
	k := ref.Key
	if k == "" {
		k = DefaultLLMKey
	}
	var s corev1.Secret
	if err := reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &s); err != nil {
		return "", fmt.Errorf("read API key Secret %s/%s: %w", ns, ref.Name, err)
	}
	v := strings.TrimSpace(string(s.Data[k]))
	if v == "" {
		return "", fmt.Errorf("API key Secret %s/%s has no key %s", ns, ref.Name, k)
	}
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("API key Secret %s/%s key %s holds more than one line", ns, ref.Name, k)
	}
	return v, nil
}

// llmRoute is the table's view of the providers and model routes.
func llmRoute(gr *scopegatev1alpha1.GatewayRoute, states []llmProviderState) *gateway.LLMRoute {
	if gr.Spec.LLM == nil {
		return nil
	}
	l := &gateway.LLMRoute{}
	for _, s := range states {
		l.Providers = append(l.Providers, s.provider)
	}
	for _, m := range gr.Spec.LLM.Models {
		l.Models = append(l.Models, llm.ModelRoute{Match: m.Match, Provider: m.Provider, UpstreamModel: m.UpstreamModel})
	}
	return l
}

// providersPolicy: every provider of an LLM route has an upstream and a
// readable key; otherwise the first that does not says why.
func providersPolicy(states []llmProviderState) (ok bool, reason, message string) {
	for _, s := range states {
		if s.problem != "" {
			return false, s.reason, s.problem
		}
	}
	return true, scopegatev1alpha1.ReasonProvidersReady, fmt.Sprintf("%d provider(s) with an upstream and a key", len(states))
}
