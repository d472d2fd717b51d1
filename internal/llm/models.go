package llm

import (
	"errors"
	"fmt"
	"strings"
)

// Match reports whether model matches pattern: '*' stands for any run of
// characters (none included), everything else for itself, case-sensitively.
// "*" matches every model, "gpt-4o*" gpt-4o and gpt-4o-mini,
// "claude-*-latest" claude-3-5-haiku-latest.
func Match(pattern, model string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == model
	}
	if !strings.HasPrefix(model, parts[0]) {
		return false
	}
	rest := model[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

// MatchAny reports whether model matches one of patterns.
func MatchAny(patterns []string, model string) bool {
	for _, p := range patterns {
		if Match(p, model) {
			return true
		}
	}
	return false
}

// IsPattern reports whether a model pattern names more than one model.
func IsPattern(p string) bool { return strings.Contains(p, "*") }

// ModelRoute sends models matching Match to Provider, renamed to
// UpstreamModel when that is set.
type ModelRoute struct {
	Match         string
	Provider      string
	UpstreamModel string
}

// Router routes a model to a provider: the first ModelRoute whose pattern
// matches, in order.
type Router struct {
	Routes []ModelRoute
}

// Target is where a model goes.
type Target struct {
	Provider string
	// Model is the model name sent upstream.
	Model string
}

// ErrNoModelRoute is a model no model route matches.
var ErrNoModelRoute = errors.New("no model route matches the model")

// Resolve finds the provider of model.
func (r Router) Resolve(model string) (Target, error) {
	if model == "" {
		return Target{}, fmt.Errorf("%w: the request names no model", ErrNoModelRoute)
	}
	for _, mr := range r.Routes {
		if Match(mr.Match, model) {
			up := model
			if mr.UpstreamModel != "" {
				up = mr.UpstreamModel
			}
			return Target{Provider: mr.Provider, Model: up}, nil
		}
	}
	return Target{}, fmt.Errorf("%w: %q", ErrNoModelRoute, model)
}
