package gatewayroute

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/testenv"
)

const gatewayURL = "https://gw.example"

var (
	env       *envtest.Environment
	cfg       *rest.Config
	k8s       client.Client
	gw        *gateway.Gateway
	gwServer  *httptest.Server
	cancelMgr context.CancelFunc

	// aliases maps the documentation addresses (192.0.2.0/24, RFC 5737)
	// written into EndpointSlices to the loopback httptest servers behind
	// them: the API server refuses loopback addresses in EndpointSlices.
	aliases sync.Map
)

func TestGatewayRouteControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "GatewayRoute controllers")
}

// rejectAll is the verifier of the suite's gateway: the specs send
// anonymous traffic only (authentication is covered by the gateway's own
// tests), so every token is refused.
type rejectAll struct{}

func (rejectAll) Verify(context.Context, string) (*accesstoken.Claims, error) {
	return nil, fmt.Errorf("%w: this suite issues no tokens", accesstoken.ErrInvalidToken)
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(GinkgoLogr)
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	var err error
	env, err = testenv.New()
	Expect(err).NotTo(HaveOccurred())
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	Expect(err).NotTo(HaveOccurred())

	transport := gateway.NewTransport()
	dialer := &net.Dialer{}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if real, ok := aliases.Load(addr); ok {
			addr = real.(string)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	gw, err = gateway.New(gateway.Options{
		Transport:  transport,
		Verifier:   rejectAll{},
		Registry:   registry.New(),
		Issuer:     "https://issuer.example",
		GatewayURL: gatewayURL,
		Log:        logr.Discard(),
	})
	Expect(err).NotTo(HaveOccurred())
	gwServer = httptest.NewServer(gw)

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testenv.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	var ctx context.Context
	ctx, cancelMgr = context.WithCancel(context.Background())
	Expect(Setup(ctx, mgr, Config{Table: gw.Table(), GatewayURL: gatewayURL})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if cancelMgr != nil {
		cancelMgr()
	}
	if gwServer != nil {
		gwServer.Close()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})
