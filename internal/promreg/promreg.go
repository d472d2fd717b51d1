// Package promreg registers Prometheus collectors so that two instances of
// a component on one registry (two gateways or stores in a test, a
// component built twice) share one collector instead of failing.
package promreg

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c, or returns the collector already registered under
// the same name and labels; what names the metrics in errors.
func Register[C prometheus.Collector](reg prometheus.Registerer, what string, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register %s metrics: %w", what, err)
	}
	return c, nil
}
