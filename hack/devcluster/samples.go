package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/scopegate/scopegate/internal/devcluster"
)

// applySamples creates every object of the manifests in dir that does not
// exist yet. Existing objects are left alone, so a restart never undoes what
// the user changed.
func applySamples(ctx context.Context, c *devcluster.Cluster, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	created, applied := 0, 0
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read sample %s: %w", f, err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("decode sample %s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			applied++
			switch err := c.Client.Create(ctx, u); {
			case err == nil:
				created++
			case apierrors.IsAlreadyExists(err):
			default:
				return fmt.Errorf("create sample %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
		}
	}
	if applied == 0 {
		return fmt.Errorf("%w in %s", errNoSamples, dir)
	}
	say("Samples from %s: %d created, %d already present", dir, created, applied-created)
	return nil
}
