// Package admission proves, against a real kube-apiserver, that the CRDs
// refuse bad manifests at `kubectl apply` time with messages that name the
// field, and accept every sample and the deployment manifests.
package admission

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scopegate/scopegate/internal/testenv"
)

var (
	env     *envtest.Environment
	cfg     *rest.Config
	k8s     client.Client
	rootDir string
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission validation")
}

var _ = BeforeSuite(func() {
	var err error
	rootDir, err = testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	env, err = testenv.New()
	Expect(err).NotTo(HaveOccurred())
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

var ctx = context.Background()
