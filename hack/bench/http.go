package main

import (
	"context"
	"strings"
)

// HTTPResult is the token endpoint and gateway measurements.
type HTTPResult struct{}

func runHTTP(ctx context.Context, o *options) (*HTTPResult, error) { return &HTTPResult{}, nil }

func (h *HTTPResult) markdown(b *strings.Builder) {}
