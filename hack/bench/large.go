package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/hack/bench/pki"
	"github.com/scopegate/scopegate/hack/bench/plan"
	"github.com/scopegate/scopegate/internal/owned"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/testenv"
)

// The large-registry targets (issue 22): the token endpoint and the
// gateway of a second manager, on a control plane of its own, that holds
// -large-clients OAuthClients and -large-routes GatewayRoutes besides the
// measured client and route, sent the same requests as the 1-client
// targets in the same rounds.
const (
	tTokenLarge   = "scopegate-token-large"
	tGatewayLarge = "scopegate-gateway-large"
	largeNS       = "bench-large"
	largeScope    = "api:large:read"
)

func init() {
	targetWhat[tTokenLarge] = "scopegate `POST /oauth/token` as `scopegate-token`, on a manager whose registry holds the large registry's clients and routes"
	targetWhat[tGatewayLarge] = "scopegate gateway as `scopegate-gateway`, on the manager holding the large registry"
	comparisons = append(comparisons,
		struct{ target, base, goal string }{tTokenLarge, tToken, "≥ 0.9 (issue 22: the large registry against 1 client)"},
		struct{ target, base, goal string }{tGatewayLarge, tGateway, "≥ 0.9 (issue 22: the large registry against 1 client)"},
	)
}

// LargeRegistry describes the large registry of an HTTP run.
type LargeRegistry struct {
	Clients int `json:"clients"`
	Routes  int `json:"routes"`
	// SetupSeconds is from the first create until every client was Ready
	// and the gateway routed every route.
	SetupSeconds float64 `json:"setup_seconds"`
	// SettleSeconds is how long after that the leader and the control
	// plane took to fall quiet (settleCores), before the rounds.
	SettleSeconds float64 `json:"settle_seconds"`
	// Settled is false when it had not fallen quiet by -scale-timeout
	// (the rounds ran anyway, beside its work).
	Settled bool `json:"settled"`
	// RSSBytes is the measured (second) replica's RSS after the rounds,
	// LeaderRSSBytes the first's, which ran the controllers.
	RSSBytes       int64 `json:"rss_bytes"`
	LeaderRSSBytes int64 `json:"leader_rss_bytes"`
	// Rounds is how many alternating rounds its own pass ran.
	Rounds int `json:"rounds"`
	// pprofURL is the measured replica's, when the harness profiles.
	pprofURL string
	// pid and urls are the measured replica's process and its token server
	// and gateway.
	pid  int
	urls []string
}

// wantLarge reports whether this HTTP run measures the large registry:
// the first HTTP run of the harness, when its targets are asked for.
func wantLarge(o *options, tlsOn bool) bool {
	if o.largeClients <= 0 || (tlsOn && o.tls == "both") {
		return false
	}
	return len(o.targets) == 0 || slices.Contains(o.targets, tTokenLarge) || slices.Contains(o.targets, tGatewayLarge)
}

// setUpLarge starts a second control plane and manager (TLS as the run's),
// creates the large registry there and the measured client and route as
// setUpClientAndRoute does, and returns the two targets with their
// credentials, what it set up, and a function that stops it all.
func setUpLarge(ctx context.Context, o *options, files *pki.Files, upstreamURL string) ([]plan.Target, *LargeRegistry, func(), error) {
	say("Large registry: %d OAuthClients and %d GatewayRoutes on a manager of its own", o.largeClients, o.largeRoutes)
	e, err := startEnv(ctx, o, "large", files, "--leader-elect")
	if err != nil {
		return nil, nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			e.stop()
		}
	}()
	c, err := harnessClient(e.cluster.Config)
	if err != nil {
		return nil, nil, nil, err
	}
	id, secret, err := setUpClientAndRoute(ctx, c, upstreamURL)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: largeNS}}); err != nil {
		return nil, nil, nil, err
	}
	lr := &LargeRegistry{Clients: o.largeClients, Routes: o.largeRoutes}
	start := time.Now()
	if err := forEach(ctx, o.largeRoutes, func(i int) error { return c.Create(ctx, largeRoute(i, upstreamURL)) }); err != nil {
		return nil, nil, nil, err
	}
	// Each client with its credentials Secret, written as the leader's
	// controller writes it (controlled by the OAuthClient, managed-by
	// label, the secret's digest annotation): every replica's registry feed
	// registers a client once both are in its cache, without waiting for
	// the leader to issue 10,000 credentials.
	secrets := make([]string, o.largeClients)
	if err := forEach(ctx, o.largeClients, func(i int) error {
		oc := largeClient(i)
		if err := c.Create(ctx, oc); err != nil {
			return err
		}
		s, err := credentialsSecret(oc)
		if err != nil {
			return err
		}
		secrets[i] = largeSecret
		err = c.Create(ctx, s)
		if apierrors.IsAlreadyExists(err) {
			// The leader's controller was first: its secret it is.
			if err = c.Get(ctx, client.ObjectKeyFromObject(s), s); err == nil {
				secrets[i] = string(s.Data["client_secret"])
			}
		}
		return err
	}); err != nil {
		return nil, nil, nil, err
	}
	if err := waitLargeRegistry(ctx, e, secrets, o.scaleTimeout); err != nil {
		return nil, nil, nil, err
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {httpScope}}.Encode()
	headers := map[string]string{"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"}
	token, err := fetchToken(ctx, e.client, e.issuer+"/oauth/token", headers, form)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := waitGateway(ctx, e.client, e.gatewayURL+routePrefix+"/items", token); err != nil {
		return nil, nil, nil, err
	}
	// Every route is in the gateway's table once it answers the measured
	// token 403 (scope missing) rather than 404 (no route).
	deadline := time.Now().Add(o.scaleTimeout)
	for i := 0; i < o.largeRoutes; {
		code, err := gatewayStatus(ctx, e.client, e.gatewayURL+largeRoute(i, upstreamURL).Spec.PathPrefix+"/x", token)
		if err != nil {
			return nil, nil, nil, err
		}
		if code == http.StatusForbidden {
			i++
			continue
		}
		if time.Now().After(deadline) {
			return nil, nil, nil, fmt.Errorf("the large registry's gateway answers route %d with %d", i, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lr.SetupSeconds = time.Since(start).Seconds()
	// The measured replica is a second one that joins now: the first is
	// the leader, whose controllers work through 10,000 clients and 1,000
	// routes; the second serves from the same registry and route table
	// without that work in its own process, which is what the lookups
	// cost.
	rep, err := e.startReplica(ctx, o, "manager-large-b")
	if err != nil {
		return nil, nil, nil, err
	}
	stop := func() {
		if st, err := readProcStats(e.manager.pid()); err == nil {
			lr.LeaderRSSBytes = st.RSS
		}
		if st, err := readProcStats(rep.manager.pid()); err == nil {
			lr.RSSBytes = st.RSS
		}
		rep.manager.stop(20 * time.Second)
		e.stop()
	}
	rtoken, err := fetchToken(ctx, e.client, rep.oauthURL+"/oauth/token", headers, form)
	if err == nil {
		err = waitGateway(ctx, e.client, rep.gatewayURL+routePrefix+"/items", rtoken)
	}
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("the large registry's second replica: %w", err)
	}
	// The leader's controllers and the control plane work through 10,000
	// clients and 1,000 routes for minutes after the registry is full; on
	// two CPUs that work would be measured against every target of the
	// rounds. Measure once it has settled.
	settled, quiet, err := waitSettled(ctx, e, o.scaleTimeout)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	lr.SettleSeconds, lr.Settled = settled.Seconds(), quiet
	lr.pprofURL = rep.pprofURL
	lr.pid, lr.urls = rep.manager.pid(), []string{rep.oauthURL, rep.gatewayURL}
	say("Large registry: ready after %.1fs, settled %.1fs later; measuring its second replica", lr.SetupSeconds, lr.SettleSeconds)
	ok = true
	targets := []plan.Target{
		{Name: tTokenLarge, Method: http.MethodPost, URL: rep.oauthURL + "/oauth/token", Headers: headers, Body: form},
		{Name: tGatewayLarge, Method: http.MethodGet, URL: rep.gatewayURL + routePrefix + "/items", Headers: map[string]string{"Authorization": "Bearer " + rtoken}},
	}
	return targets, lr, stop, nil
}

// largeClient is the i-th client of the large registry: a client secret
// (credentialsSecret), no token Secret.
func largeClient(i int) *scopegatev1alpha1.OAuthClient {
	return &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("client-%05d", i), Namespace: largeNS},
		Spec: scopegatev1alpha1.OAuthClientSpec{
			Scopes:    []scopegatev1alpha1.Scope{largeScope},
			Audiences: []scopegatev1alpha1.Audience{httpAudience},
		},
	}
}

// largeRoute is the i-th route of the large registry: prefixes two and
// three segments deep beside the measured one, so that a lookup walks
// past a table of many prefixes.
func largeRoute(i int, upstreamURL string) *scopegatev1alpha1.GatewayRoute {
	prefix := fmt.Sprintf("/svc-%02d/r-%04d", i%50, i)
	if i%2 == 1 {
		prefix = fmt.Sprintf("/api/bench-%04d/v1", i)
	}
	return &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("route-%04d", i), Namespace: largeNS},
		Spec: scopegatev1alpha1.GatewayRouteSpec{
			PathPrefix:     prefix,
			Backend:        scopegatev1alpha1.Backend{URL: upstreamURL, Path: backendPath},
			RequiredScopes: []scopegatev1alpha1.Scope{largeScope},
			Audiences:      []scopegatev1alpha1.Audience{httpAudience},
		},
	}
}

// largeSecret is the client secret of every large-registry client: a
// well-formed one (43 URL-safe characters), known to the harness.
const largeSecret = "bench-large-registry-secret-0123456789abcdefghij"

// credentialsSecret is oc's credentials Secret as the OAuthClient
// controller writes it, with largeSecret.
func credentialsSecret(oc *scopegatev1alpha1.OAuthClient) (*corev1.Secret, error) {
	d := registry.Digest(largeSecret)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        oc.CredentialsSecret(),
			Namespace:   oc.Namespace,
			Labels:      map[string]string{owned.LabelManagedBy: owned.ManagedBy},
			Annotations: map[string]string{scopegatev1alpha1.AnnotationSecretDigest: hex.EncodeToString(d[:])},
		},
		Data: map[string][]byte{"client_id": []byte(oc.ClientID()), "client_secret": []byte(largeSecret)},
	}
	return s, controllerutil.SetControllerReference(oc, s, testenv.Scheme())
}

// waitLargeRegistry waits until the manager authenticates the last client
// created, then checks that 200 clients spread over the registry
// authenticate too. It polls every 5 s: failed authentications are
// limited per source address, and the measured client shares it.
func waitLargeRegistry(ctx context.Context, e *env, secrets []string, timeout time.Duration) error {
	n := len(secrets)
	try := func(i int) (bool, error) {
		id := scopegatev1alpha1.ClientIDFor(largeNS, largeClient(i).Name)
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secrets[i])))
		code, err := postForm(ctx, e.client, e.issuer+"/oauth/token", basic, url.Values{"grant_type": {"client_credentials"}, "scope": {largeScope}}.Encode(), nil)
		return code == http.StatusOK, err
	}
	deadline := time.Now().Add(timeout)
	for {
		if e.manager.exited() {
			return fmt.Errorf("manager exited: %v (log %s)", e.manager.err, e.manager.logPath)
		}
		ok, err := try(n - 1)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the large registry's last client does not authenticate after %s", timeout)
		}
		say("  large registry: the last client does not authenticate yet")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
	// The feed registers in about the order of creation; give the last
	// few their moment.
	time.Sleep(5 * time.Second)
	for i := 0; i < n; i += max(1, n/200) {
		ok, err := try(i)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("large-registry client %d does not authenticate", i)
		}
	}
	return nil
}

func (l *LargeRegistry) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "\n`%s` and `%s` ran on a control plane of their own holding %d OAuthClients (client secrets written by the harness as the controller writes them, no token Secrets) and %d GatewayRoutes besides the measured client and route (set up in %.0f s), on the second of two replicas there, started once the first (the leader, whose controllers work on the large registry) served them all. %s RSS after the rounds: the measured replica %.0f MiB, the leader %.0f MiB.\n",
		tTokenLarge, tGatewayLarge, l.Clients, l.Routes, l.SetupSeconds, l.settled(), mib(l.RSSBytes), mib(l.LeaderRSSBytes))
	if l.Rounds > 0 {
		fmt.Fprintf(b, "Their rows above come from a pass of their own after the others: each beside its 1-client counterpart, %d alternating rounds. The CPU ratio (answers per CPU-second of the serving process) is what the larger registry and route table cost the replica itself; the throughput ratio also carries whatever else the 2 CPUs did meanwhile, the large control plane's included.\n", l.Rounds)
	}
}

// settleCores is the CPU (in cores, over settleWindow) under which the
// large registry's control plane and leader count as quiet.
const (
	settleCores  = 0.15
	settleWindow = 5 * time.Second
)

// waitSettled waits until this env's kube-apiserver, etcd and manager
// together use less than settleCores over one settleWindow, and says how
// long that took; after timeout it gives up waiting (false), and the
// rounds go on anyway.
func waitSettled(ctx context.Context, e *env, timeout time.Duration) (time.Duration, bool, error) {
	start := time.Now()
	used := func() (time.Duration, error) {
		cp, err := e.controlPlaneCPU()
		if err != nil {
			return 0, err
		}
		st, err := readProcStats(e.manager.pid())
		if err != nil {
			return 0, err
		}
		return cp + st.CPU, nil
	}
	last, err := used()
	if err != nil {
		return 0, false, err
	}
	for {
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(settleWindow):
		}
		now, err := used()
		if err != nil {
			return 0, false, err
		}
		if cores := (now - last).Seconds() / settleWindow.Seconds(); cores < settleCores {
			return time.Since(start), true, nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), false, nil
		}
		last = now
	}
}

func (l *LargeRegistry) settled() string {
	if !l.Settled {
		return fmt.Sprintf("The leader and its control plane had not settled %.0f s after the setup (still over %.2f cores): the rounds ran beside their work.", l.SettleSeconds, settleCores)
	}
	return fmt.Sprintf("The rounds began once that leader and its control plane had settled (under %.2f cores over %s), %.0f s after the setup.", settleCores, settleWindow, l.SettleSeconds)
}

// largeBase maps each target of the large registry to its 1-client
// counterpart.
var largeBase = map[string]string{tTokenLarge: tToken, tGatewayLarge: tGateway}

// measureLarge runs the large registry's targets beside their 1-client
// counterparts (as defined in main, the run's plan) in a pass of their own
// with -large-rounds alternating rounds, and adds the large targets and
// their ratios to h. The two are alike but for the registry; more rounds
// than the main pass keep a burst of the large control plane's background
// work from deciding the median.
func measureLarge(ctx context.Context, o *options, dir string, main plan.Plan, large []plan.Target, h *HTTPResult, loadgenArgs []string) error {
	p := main
	p.Rounds = max(o.largeRounds, 1)
	p.Targets = nil
	for _, t := range large {
		i := slices.IndexFunc(main.Targets, func(b plan.Target) bool { return b.Name == largeBase[t.Name] })
		if i < 0 {
			return fmt.Errorf("the large registry's %s has no %s in the plan", t.Name, largeBase[t.Name])
		}
		p.Targets = append(p.Targets, main.Targets[i], t)
	}
	say("Large registry: its own pass, %d targets, %d rounds", len(p.Targets), p.Rounds)
	if o.profileDir != "" && h.Large.pprofURL != "" {
		stop, err := profile(ctx, o, h.Large.pprofURL, filepath.Join(o.profileDir, "large"), p.Rounds, len(p.Targets))
		if err != nil {
			return err
		}
		defer stop()
	}
	raw, err := runLoadgen(ctx, o, dir, p, loadgenArgs...)
	if err != nil {
		return err
	}
	l := summarizeHTTP(o, raw, h.TLS)
	for _, t := range l.Targets {
		if largeBase[t.Name] != "" {
			h.Targets = append(h.Targets, t)
		}
	}
	for _, r := range l.Ratios {
		if largeBase[r.Target] != "" {
			h.Ratios = append(h.Ratios, r)
		}
	}
	h.LargeRaw = raw
	h.Large.Rounds = p.Rounds
	return nil
}
