package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// The revocation run (issue 22): N tokens revoked through /oauth/revoke on
// one of two replicas, then refused by both.
const (
	revNamespace = "bench-revoke"
	revScope     = "rev:read"
	revPrefix    = "/rev"
	// revPerClient is how many tokens each client revokes: the token
	// server's per-client burst of new revocations (DefaultRevocationBurst),
	// so that no revocation waits for the per-client limit.
	revPerClient = 100
	// revFloor is how many ConfigMaps the floor creates.
	revFloor = 2000
)

// RevocationResult is the revocation run.
type RevocationResult struct {
	Tokens  int `json:"tokens"`
	Clients int `json:"clients"`
	// IssueSeconds is how long issuing the tokens took (16 workers).
	IssueSeconds float64 `json:"issue_seconds"`
	// RevokeSeconds is from the first revocation request until the last
	// answer; every one went to replica A with 16 workers.
	RevokeSeconds     float64 `json:"revoke_seconds"`
	RevocationsPerSec float64 `json:"revocations_per_second"`
	// FloorPerSec is the harness's own ConfigMap creates per second
	// (revFloor of them, 16 workers), just before.
	FloorPerSec         float64            `json:"floor_configmaps_per_second"`
	RevokeP50ms         float64            `json:"revoke_p50_ms"`
	RevokeP99ms         float64            `json:"revoke_p99_ms"`
	RevokeMaxms         float64            `json:"revoke_max_ms"`
	RevokeErrors        int                `json:"revoke_errors"`
	RequestsPerRevoke   map[string]float64 `json:"api_requests_per_revocation"`
	PropagatedSeconds   float64            `json:"propagated_seconds"`
	EnforcedSeconds     float64            `json:"enforced_seconds"`
	Checks              int                `json:"checks"`
	Refused             int                `json:"refused"`
	Objects             int                `json:"revocation_objects"`
	ConfigMapsStored    int                `json:"configmaps_all_namespaces"`
	ObjectBytes         int                `json:"revocation_object_json_bytes"`
	RSSBytes            []int64            `json:"rss_bytes"`
	PeakRSSBytes        []int64            `json:"peak_rss_bytes"`
	StartupSeconds      float64            `json:"startup_seconds"`
	StartupRevocations  int                `json:"startup_revocations"`
	StartupRSSBytes     int64              `json:"startup_rss_bytes"`
	IdleSeconds         float64            `json:"idle_seconds"`
	IdleCPUCores        []float64          `json:"idle_cpu_cores"`
	IdleRequests        map[string]float64 `json:"idle_requests"`
	BaselineRSSBytes    []int64            `json:"rss_before_bytes"`
	LoadAverage         string             `json:"load_average"`
	LoadAverageAfterRun string             `json:"load_average_end"`
}

// revToken is one issued token and the client that owns it.
type revToken struct {
	token string
	owner int
}

// runRevocations measures n revocations on two replicas of a fresh control
// plane: the revoke rate and latency at replica A, the time until replica
// B holds them all and until both refuse every token by introspection and
// at the gateway, the objects stored, the replicas' memory, the start of a
// third replica with the n revocations stored, and idle CPU afterwards.
func runRevocations(ctx context.Context, o *options, n int, idle time.Duration) (*RevocationResult, error) {
	res := &RevocationResult{Tokens: n, Clients: (n + revPerClient - 1) / revPerClient, LoadAverage: loadAverage()}
	say("Revocations: %d tokens of %d clients on two replicas", n, res.Clients)
	e, err := startEnv(ctx, o, "revocations", nil, "--leader-elect")
	if err != nil {
		return nil, err
	}
	defer e.stop()
	b, err := e.startReplica(ctx, o, "manager-b")
	if err != nil {
		return nil, err
	}
	defer b.manager.stop(20 * time.Second)
	c, err := harnessClient(e.cluster.Config)
	if err != nil {
		return nil, err
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer upstream.Close()

	creds, admin, err := setUpRevocationClients(ctx, c, res.Clients, upstream.URL)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 256}}
	basic := func(i int) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(creds[i][0])+":"+url.QueryEscape(creds[i][1])))
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {revScope}}.Encode()
	adminToken, err := fetchToken(ctx, hc, e.issuer+"/oauth/token", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(admin[0])+":"+url.QueryEscape(admin[1]))), "Content-Type": "application/x-www-form-urlencoded"},
		url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}, "audience": {"admin"}}.Encode())
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	replicas := []struct{ name, oauth, gateway, metrics string }{
		{"A", e.issuer, e.gatewayURL, e.metricsURL},
		{"B", b.oauthURL, b.gatewayURL, b.metricsURL},
	}
	for _, r := range replicas {
		if err := waitGateway(ctx, hc, r.gateway+revPrefix+"/x", anyToken(ctx, hc, e.issuer, basic(0), form)); err != nil {
			return nil, fmt.Errorf("replica %s: %w", r.name, err)
		}
	}

	say("Revocations: issuing %d tokens", n)
	tokens := make([]revToken, n)
	start := time.Now()
	if err := forEach(ctx, n, func(i int) error {
		owner := i % res.Clients
		t, err := fetchToken(ctx, hc, e.issuer+"/oauth/token", map[string]string{"Authorization": basic(owner), "Content-Type": "application/x-www-form-urlencoded"}, form)
		tokens[i] = revToken{token: t, owner: owner}
		return err
	}); err != nil {
		return nil, err
	}
	res.IssueSeconds = time.Since(start).Seconds()
	// Every token passes both gateways once, so that the verification
	// caches hold them when they are revoked.
	say("Revocations: every token through both gateways")
	if err := forEach(ctx, n, func(i int) error {
		for _, r := range replicas {
			if code, err := gatewayStatus(ctx, hc, r.gateway+revPrefix+"/x", tokens[i].token); err != nil || code != http.StatusOK {
				return fmt.Errorf("token %d at replica %s before revocation: %d %v", i, r.name, code, err)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, r := range []*process{e.manager, b.manager} {
		st, err := readProcStats(r.pid())
		if err != nil {
			return nil, err
		}
		res.BaselineRSSBytes = append(res.BaselineRSSBytes, st.RSS)
	}

	// The floor: what the API server accepts from a plain client-go
	// program creating ConfigMaps of a revocation's size with the same
	// number of workers, just before.
	if res.FloorPerSec, err = floorConfigMaps(ctx, c, revFloor); err != nil {
		return nil, err
	}
	say("Revocations: floor %.0f ConfigMaps/s; revoking %d tokens at replica A", res.FloorPerSec, n)
	before, err := scrape(ctx, e.metricsURL)
	if err != nil {
		return nil, err
	}
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	var firstErr sync.Once
	var revokeErr error
	start = time.Now()
	_ = forEach(ctx, n, func(i int) error {
		t0 := time.Now()
		code, err := postForm(ctx, hc, e.issuer+"/oauth/revoke", basic(tokens[i].owner), url.Values{"token": {tokens[i].token}}.Encode(), nil)
		lat[i] = time.Since(t0)
		if err != nil || code != http.StatusOK {
			failed.Add(1)
			firstErr.Do(func() { revokeErr = fmt.Errorf("revoke token %d: %d %v", i, code, err) })
		}
		return nil
	})
	revokedAt := time.Now()
	res.RevokeSeconds = revokedAt.Sub(start).Seconds()
	res.RevocationsPerSec = float64(n) / res.RevokeSeconds
	res.RevokeErrors = int(failed.Load())
	if revokeErr != nil {
		say("Revocations: %d failed, the first: %v", res.RevokeErrors, revokeErr)
	}
	slices.Sort(lat)
	res.RevokeP50ms = ms(lat[len(lat)/2])
	res.RevokeP99ms = ms(lat[len(lat)*99/100])
	res.RevokeMaxms = ms(lat[len(lat)-1])
	say("Revocations: %d in %.1fs (%.0f/s), p50 %.1f ms, p99 %.1f ms", n, res.RevokeSeconds, res.RevocationsPerSec, res.RevokeP50ms, res.RevokeP99ms)

	// Replica B holds them all when its admin API counts n.
	for {
		counts := make([]int, len(replicas))
		for i, r := range replicas {
			if counts[i], err = revocationCount(ctx, hc, r.gateway, adminToken); err != nil {
				return nil, fmt.Errorf("replica %s: %w", r.name, err)
			}
		}
		if counts[0] >= n && counts[1] >= n {
			res.PropagatedSeconds = time.Since(revokedAt).Seconds()
			break
		}
		if time.Since(revokedAt) > 2*time.Minute {
			return nil, fmt.Errorf("after 2 minutes replica A holds %d and B %d of %d revocations", counts[0], counts[1], n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	after, err := scrape(ctx, e.metricsURL)
	if err != nil {
		return nil, err
	}
	res.RequestsPerRevoke = map[string]float64{}
	for m, v := range delta(sumBy(before, "rest_client_requests_total", "method", nil), sumBy(after, "rest_client_requests_total", "method", nil)) {
		res.RequestsPerRevoke[m] = v / float64(n)
	}

	say("Revocations: checking every token at both replicas (introspection and gateway)")
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		var mu sync.Mutex
		var still []int
		if err := forEach(ctx, len(pending), func(k int) error {
			i := pending[k]
			refused := 0
			for _, r := range replicas {
				active, err := introspectActive(ctx, hc, r.oauth, basic(tokens[i].owner), tokens[i].token)
				if err != nil {
					return fmt.Errorf("introspect at %s: %w", r.name, err)
				}
				if !active {
					refused++
				}
				code, err := gatewayStatus(ctx, hc, r.gateway+revPrefix+"/x", tokens[i].token)
				if err != nil {
					return fmt.Errorf("gateway %s: %w", r.name, err)
				}
				if code == http.StatusUnauthorized {
					refused++
				}
			}
			mu.Lock()
			res.Checks += 2 * len(replicas)
			res.Refused += refused
			if refused < 2*len(replicas) {
				still = append(still, i)
			}
			mu.Unlock()
			return nil
		}); err != nil {
			return nil, err
		}
		pending = still
		if len(pending) > 0 {
			if time.Since(revokedAt) > 2*time.Minute {
				return nil, fmt.Errorf("%d tokens still accepted somewhere 2 minutes after their revocation", len(pending))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	res.EnforcedSeconds = time.Since(revokedAt).Seconds()

	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(operatorNamespace), client.MatchingLabels{revocation.RevocationLabel: "true"}); err != nil {
		return nil, fmt.Errorf("list revocation ConfigMaps: %w", err)
	}
	res.Objects = len(cms.Items)
	if len(cms.Items) > 0 {
		if res.ConfigMapsStored, res.ObjectBytes, err = allConfigMaps(ctx, c, cms.Items[0].Name); err != nil {
			return nil, err
		}
	}
	for _, p := range []*process{e.manager, b.manager} {
		st, err := readProcStats(p.pid())
		if err != nil {
			return nil, err
		}
		res.RSSBytes = append(res.RSSBytes, st.RSS)
		res.PeakRSSBytes = append(res.PeakRSSBytes, st.PeakRSS)
	}

	say("Revocations: a third replica starting with %d revocations stored", n)
	start = time.Now()
	third, err := e.startReplica(ctx, o, "manager-c")
	if err != nil {
		return nil, err
	}
	res.StartupSeconds = time.Since(start).Seconds()
	// Its gateway serves the admin API too.
	if res.StartupRevocations, err = revocationCount(ctx, hc, third.gatewayURL, adminToken); err != nil {
		third.manager.stop(20 * time.Second)
		return nil, fmt.Errorf("replica C: %w", err)
	}
	if st, err := readProcStats(third.manager.pid()); err == nil {
		res.StartupRSSBytes = st.RSS
	}
	third.manager.stop(20 * time.Second)

	say("Revocations: idle window of %s", idle)
	hc.CloseIdleConnections()
	procs := []watched{{pid: e.manager.pid(), metricsURL: replicas[0].metrics}, {pid: b.manager.pid(), metricsURL: replicas[1].metrics}}
	for i := range procs {
		if procs[i].after, err = scrape(ctx, procs[i].metricsURL); err != nil {
			return nil, err
		}
	}
	stats, err := idleWindow(ctx, idle, procs)
	if err != nil {
		return nil, err
	}
	// Both replicas' requests, summed.
	res.IdleSeconds, res.IdleRequests = stats[0].seconds, map[string]float64{}
	for _, st := range stats {
		res.IdleCPUCores = append(res.IdleCPUCores, st.cores)
		for k, v := range st.requests {
			res.IdleRequests[k] += v
		}
	}
	res.LoadAverageAfterRun = loadAverage()
	return res, nil
}

// floorConfigMaps creates n ConfigMaps like a revocation's (a label, an
// annotation, one key) in a namespace of their own with the harness's
// writers and returns the rate.
func floorConfigMaps(ctx context.Context, c client.Client, n int) (float64, error) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "floor-revocations"}}); err != nil {
		return 0, fmt.Errorf("create namespace: %w", err)
	}
	start := time.Now()
	err := forEach(ctx, n, func(i int) error {
		return c.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: revocation.Name(fmt.Sprintf("floor-%05d", i)), Namespace: "floor-revocations",
				Labels:      map[string]string{"floor": "true"},
				Annotations: map[string]string{revocation.ExpiresAtAnnotation: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
			},
			Data: map[string]string{revocation.JTIKey: fmt.Sprintf("%036d", i)},
		})
	})
	return float64(n) / time.Since(start).Seconds(), err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// setUpRevocationClients creates a GatewayRoute to upstream, k clients
// whose tokens it accepts and an admin client, waits until all are Ready,
// and returns their client_id and secret pairs.
func setUpRevocationClients(ctx context.Context, c client.Client, k int, upstream string) ([][2]string, [2]string, error) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: revNamespace}}); err != nil {
		return nil, [2]string{}, fmt.Errorf("create namespace: %w", err)
	}
	gr := &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "rev", Namespace: revNamespace},
		Spec: scopegatev1alpha1.GatewayRouteSpec{
			PathPrefix:     revPrefix,
			Backend:        scopegatev1alpha1.Backend{URL: upstream},
			RequiredScopes: []scopegatev1alpha1.Scope{revScope},
			Audiences:      []scopegatev1alpha1.Audience{httpAudience},
		},
	}
	if err := c.Create(ctx, gr); err != nil {
		return nil, [2]string{}, fmt.Errorf("create GatewayRoute: %w", err)
	}
	objs := make([]*scopegatev1alpha1.OAuthClient, k+1)
	for i := range k {
		objs[i] = &scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rev-%04d", i), Namespace: revNamespace},
			Spec: scopegatev1alpha1.OAuthClientSpec{
				Scopes:    []scopegatev1alpha1.Scope{revScope},
				Audiences: []scopegatev1alpha1.Audience{httpAudience},
			},
		}
	}
	objs[k] = &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-admin", Namespace: operatorNamespace},
		Spec: scopegatev1alpha1.OAuthClientSpec{
			Scopes:    []scopegatev1alpha1.Scope{"admin"},
			Audiences: []scopegatev1alpha1.Audience{"admin"},
		},
	}
	if err := forEach(ctx, len(objs), func(i int) error { return c.Create(ctx, objs[i]) }); err != nil {
		return nil, [2]string{}, err
	}
	creds := make([][2]string, len(objs))
	deadline := time.Now().Add(5 * time.Minute)
	for i, obj := range objs {
		for {
			var got scopegatev1alpha1.OAuthClient
			if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &got); err != nil {
				return nil, [2]string{}, err
			}
			if meta.IsStatusConditionTrue(got.Status.Conditions, scopegatev1alpha1.ConditionReady) {
				break
			}
			if time.Now().After(deadline) {
				return nil, [2]string{}, fmt.Errorf("OAuthClient %s not Ready: %v", obj.Name, got.Status.Conditions)
			}
			time.Sleep(200 * time.Millisecond)
		}
		var s corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: obj.CredentialsSecret()}, &s); err != nil {
			return nil, [2]string{}, fmt.Errorf("read credentials Secret of %s: %w", obj.Name, err)
		}
		creds[i] = [2]string{string(s.Data["client_id"]), string(s.Data["client_secret"])}
	}
	return creds[:k], creds[k], nil
}

// anyToken fetches one token of a client, to wait for the gateways'
// route tables with; an error leaves it empty, and the wait reports it.
func anyToken(ctx context.Context, hc *http.Client, issuer, basic, form string) string {
	t, _ := fetchToken(ctx, hc, issuer+"/oauth/token", map[string]string{"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"}, form)
	return t
}

func postForm(ctx context.Context, hc *http.Client, u, basic, form string, into any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", basic)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if into != nil && res.StatusCode == http.StatusOK {
		return res.StatusCode, json.NewDecoder(res.Body).Decode(into)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

func introspectActive(ctx context.Context, hc *http.Client, issuer, basic, token string) (bool, error) {
	var ans struct {
		Active bool `json:"active"`
	}
	code, err := postForm(ctx, hc, issuer+"/oauth/introspect", basic, url.Values{"token": {token}}.Encode(), &ans)
	if err != nil {
		return false, err
	}
	if code != http.StatusOK {
		return false, fmt.Errorf("introspection answered %d", code)
	}
	return ans.Active, nil
}

func gatewayStatus(ctx context.Context, hc *http.Client, u, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// revocationCount is the admin API's count of the revocations a replica
// holds.
func revocationCount(ctx context.Context, hc *http.Client, gatewayURL, adminToken string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gatewayURL+"/admin/v1/revocations", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return 0, fmt.Errorf("admin API revocations: %s: %s", res.Status, b)
	}
	var st revocation.Stats
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, err
	}
	return st.Count, nil
}

// allConfigMaps counts the ConfigMaps the API server stores, in every
// namespace (metadata only), and returns the size of one revocation
// ConfigMap as the API server serves it in JSON.
func allConfigMaps(ctx context.Context, c client.Client, one string) (int, int, error) {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	if err := c.List(ctx, &list); err != nil {
		return 0, 0, fmt.Errorf("list ConfigMaps: %w", err)
	}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: one}, &cm); err != nil {
		return 0, 0, fmt.Errorf("get a revocation ConfigMap: %w", err)
	}
	b, err := json.Marshal(&cm)
	return len(list.Items), len(b), err
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func (r *RevocationResult) markdown(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### Revocations\n\n")
	p("Two manager replicas (A and B, `--leader-elect`) on a fresh local control plane; %d tokens of %d clients (%d each, the per-client burst of new revocations), each sent once through both gateways first (verification caches warm), then revoked with `POST /oauth/revoke` at replica A by %d workers; the floor is the harness creating %d ConfigMaps of a revocation's size with as many workers, just before. *B holds all* is from the last revocation's answer until the admin API of both replicas counts every revocation; *all refused* until a pass over every token found it refused by introspection (`active: false`) and by the gateway (401) on both replicas (the pass's own length included). The third replica is started afterwards on the same control plane: from its start until `/readyz` answers 200, and the revocations its admin API counts then. Idle: both replicas, API requests summed (PUTs are the leader Lease's renewals). Load average %s at the start.\n\n",
		r.Tokens, r.Clients, revPerClient, writers, revFloor, r.LoadAverage)
	p("| revocations | revocations/s | floor: plain ConfigMap creates/s | revoke p50 | p99 | max | errors | API requests per revocation (A) | B holds all | all refused on both (%d checks) | revocation objects (JSON size of one) | ConfigMaps, all namespaces | RSS A / B (before → after) | third replica Ready | its RSS | idle CPU A / B | idle requests |\n", r.Checks)
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	rss := ""
	for i := range r.RSSBytes {
		if i > 0 {
			rss += " / "
		}
		before := int64(0)
		if i < len(r.BaselineRSSBytes) {
			before = r.BaselineRSSBytes[i]
		}
		rss += fmt.Sprintf("%.0f → %.0f MiB", mib(before), mib(r.RSSBytes[i]))
	}
	idle := ""
	for i, v := range r.IdleCPUCores {
		if i > 0 {
			idle += " / "
		}
		idle += fmt.Sprintf("%.4f", v)
	}
	p("| %d | **%.0f** | %.0f | %.1f ms | %.1f ms | %.1f ms | %d | %s | %.2f s | **%.1f s** | %d (%d B) | %d | %s | **%.1f s** (holding %d) | %.0f MiB | %s cores over %.0f s | %s |\n\n",
		r.Tokens, r.RevocationsPerSec, r.FloorPerSec, r.RevokeP50ms, r.RevokeP99ms, r.RevokeMaxms, r.RevokeErrors, verbs(r.RequestsPerRevoke),
		r.PropagatedSeconds, r.EnforcedSeconds, r.Objects, r.ObjectBytes, r.ConfigMapsStored, rss, r.StartupSeconds, r.StartupRevocations,
		mib(r.StartupRSSBytes), idle, r.IdleSeconds, counts(r.IdleRequests))
}
