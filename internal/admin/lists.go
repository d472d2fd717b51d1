package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/tokenserver/keys"
)

// Pagination bounds.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// page is one page of a list: its items and, when more follow, the
// continue token that asks for them.
type page[T any] struct {
	Items    []T    `json:"items"`
	Continue string `json:"continue,omitempty"`
}

// paginate cuts the items (sorted by key) after the continue token, at most
// limit. The token is the last key of the previous page, opaque to callers.
func paginate[T any](r *http.Request, items []T, key func(T) string) (page[T], string) {
	limit := DefaultLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return page[T]{}, "limit must be a positive integer"
		}
		limit = min(n, MaxLimit)
	}
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if c := r.URL.Query().Get("continue"); c != "" {
		after, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return page[T]{}, "continue is not a token this API gave"
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	end := min(start+limit, len(items))
	p := page[T]{Items: items[start:end]}
	if p.Items == nil {
		p.Items = []T{}
	}
	if end < len(items) {
		p.Continue = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return p, ""
}

// clientView is an OAuthClient as the admin API shows it: its declaration
// and state, never a secret or a digest.
type clientView struct {
	ClientID             string            `json:"clientId"`
	Namespace            string            `json:"namespace"`
	Name                 string            `json:"name"`
	Scopes               []string          `json:"scopes"`
	Audiences            []string          `json:"audiences"`
	GrantTypes           []string          `json:"grantTypes"`
	ClientAuthentication string            `json:"clientAuthentication"`
	ServiceAccounts      []string          `json:"serviceAccounts,omitempty"`
	Suspended            bool              `json:"suspended"`
	Ready                bool              `json:"ready"`
	ReadyReason          string            `json:"readyReason,omitempty"`
	TokenSecret          *tokenSecretView  `json:"tokenSecret,omitempty"`
	RateLimit            *rateLimitView    `json:"rateLimit,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
}

type tokenSecretView struct {
	SecretName  string     `json:"secretName"`
	NotAfter    *time.Time `json:"notAfter,omitempty"`
	RenewalTime *time.Time `json:"renewalTime,omitempty"`
	Revision    int64      `json:"revision"`
	Ready       bool       `json:"ready"`
	Reason      string     `json:"reason,omitempty"`
}

type rateLimitView struct {
	RequestsPerSecond int32 `json:"requestsPerSecond"`
	Burst             int   `json:"burst"`
	// Store says where the limit's buckets are (Options.RateLimitStore).
	Store string `json:"store,omitempty"`
}

// rateLimitStore describes where the gateway's buckets are, "" when
// unknown.
func (a *API) rateLimitStore() string {
	if a.opts.RateLimitStore == nil {
		return ""
	}
	return a.opts.RateLimitStore()
}

func (a *API) clients(w http.ResponseWriter, r *http.Request) {
	list := &scopegatev1alpha1.OAuthClientList{}
	if err := a.opts.Reader.List(r.Context(), list); err != nil {
		a.opts.Log.Error(err, "Admin API cannot list OAuthClients")
		writeError(w, &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "cannot list OAuthClients now"})
		return
	}
	views := make([]clientView, 0, len(list.Items))
	for i := range list.Items {
		views = append(views, viewClient(&list.Items[i], a.rateLimitStore()))
	}
	p, bad := paginate(r, views, func(v clientView) string { return v.Namespace + "/" + v.Name })
	if bad != "" {
		badRequest(w, bad)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func viewClient(c *scopegatev1alpha1.OAuthClient, store string) clientView {
	v := clientView{
		ClientID: c.ClientID(), Namespace: c.Namespace, Name: c.Name,
		Scopes:               scopegatev1alpha1.ScopeStrings(c.Spec.Scopes),
		Audiences:            scopegatev1alpha1.AudienceStrings(c.Spec.Audiences),
		ClientAuthentication: string(scopegatev1alpha1.ClientAuthenticationSecret),
		ServiceAccounts:      c.ServiceAccountNames(),
		Suspended:            c.Spec.Suspended,
		Labels:               c.Labels,
	}
	if c.Spec.ClientAuthentication != "" {
		v.ClientAuthentication = string(c.Spec.ClientAuthentication)
	}
	for _, g := range c.Spec.GrantTypes {
		v.GrantTypes = append(v.GrantTypes, string(g))
	}
	if len(v.GrantTypes) == 0 {
		v.GrantTypes = []string{string(scopegatev1alpha1.GrantTypeClientCredentials)}
	}
	if v.Audiences == nil {
		v.Audiences = []string{}
	}
	if ready := meta.FindStatusCondition(c.Status.Conditions, scopegatev1alpha1.ConditionReady); ready != nil {
		v.Ready = ready.Status == metav1.ConditionTrue
		v.ReadyReason = ready.Reason
	}
	if c.Spec.TokenSecret != nil {
		ts := &tokenSecretView{SecretName: c.TokenSecretName()}
		if t := c.Status.Token; t != nil {
			ts.NotAfter, ts.RenewalTime, ts.Revision = timeOf(t.NotAfter), timeOf(t.RenewalTime), t.Revision
		}
		if cond := meta.FindStatusCondition(c.Status.Conditions, scopegatev1alpha1.ConditionTokenReady); cond != nil {
			ts.Ready, ts.Reason = cond.Status == metav1.ConditionTrue, cond.Reason
		}
		v.TokenSecret = ts
	}
	if rl := c.Spec.RateLimit; rl != nil {
		v.RateLimit = &rateLimitView{RequestsPerSecond: rl.RequestsPerSecond, Burst: rl.EffectiveBurst(), Store: store}
	}
	return v
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// routeView is a GatewayRoute as the admin API shows it.
type routeView struct {
	Key            string         `json:"key"`
	Namespace      string         `json:"namespace"`
	Name           string         `json:"name"`
	PathPrefix     string         `json:"pathPrefix"`
	Protocol       string         `json:"protocol"`
	RequiredScopes []string       `json:"requiredScopes"`
	ScopeMatch     string         `json:"scopeMatch"`
	Audiences      []string       `json:"audiences"`
	AllowAnonymous bool           `json:"allowAnonymous"`
	RateLimit      *rateLimitView `json:"rateLimit,omitempty"`
	Accepted       bool           `json:"accepted"`
	Backend        backendView    `json:"backend"`
}

type backendView struct {
	Service        string `json:"service,omitempty"`
	URL            string `json:"url,omitempty"`
	Path           string `json:"path,omitempty"`
	Resolved       bool   `json:"resolved"`
	Reason         string `json:"reason,omitempty"`
	ReadyEndpoints int32  `json:"readyEndpoints"`
}

func (a *API) routes(w http.ResponseWriter, r *http.Request) {
	list := &scopegatev1alpha1.GatewayRouteList{}
	if err := a.opts.Reader.List(r.Context(), list); err != nil {
		a.opts.Log.Error(err, "Admin API cannot list GatewayRoutes")
		writeError(w, &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "cannot list GatewayRoutes now"})
		return
	}
	views := make([]routeView, 0, len(list.Items))
	for i := range list.Items {
		views = append(views, viewRoute(&list.Items[i], a.rateLimitStore()))
	}
	p, bad := paginate(r, views, func(v routeView) string { return v.Key })
	if bad != "" {
		badRequest(w, bad)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func viewRoute(rt *scopegatev1alpha1.GatewayRoute, store string) routeView {
	s := rt.Spec
	v := routeView{
		Key: rt.Namespace + "/" + rt.Name, Namespace: rt.Namespace, Name: rt.Name,
		PathPrefix: s.PathPrefix, Protocol: string(s.Protocol), ScopeMatch: string(s.ScopeMatch),
		RequiredScopes: scopegatev1alpha1.ScopeStrings(s.RequiredScopes), Audiences: scopegatev1alpha1.AudienceStrings(s.Audiences),
		AllowAnonymous: s.AllowAnonymous,
	}
	if v.Protocol == "" {
		v.Protocol = "HTTP"
	}
	if v.ScopeMatch == "" {
		v.ScopeMatch = "Any"
	}
	if v.RequiredScopes == nil {
		v.RequiredScopes = []string{}
	}
	if v.Audiences == nil {
		v.Audiences = []string{}
	}
	if rl := s.RateLimit; rl != nil {
		v.RateLimit = &rateLimitView{RequestsPerSecond: rl.RequestsPerSecond, Burst: rl.EffectiveBurst(), Store: store}
	}
	if svc := s.Backend.Service; svc != nil {
		v.Backend.Service = svc.Name + ":" + strconv.Itoa(int(svc.Port))
	}
	v.Backend.URL, v.Backend.Path, v.Backend.ReadyEndpoints = s.Backend.URL, s.Backend.Path, rt.Status.ReadyEndpoints
	if c := meta.FindStatusCondition(rt.Status.Conditions, scopegatev1alpha1.ConditionBackendResolved); c != nil {
		v.Backend.Resolved, v.Backend.Reason = c.Status == metav1.ConditionTrue, c.Reason
	}
	v.Accepted = meta.IsStatusConditionTrue(rt.Status.Conditions, scopegatev1alpha1.ConditionAccepted)
	return v
}

func (a *API) keys(w http.ResponseWriter, r *http.Request) {
	st := a.opts.Keys.Status()
	p, bad := paginate(r, st, func(k keyStatus) string { return k.NotBefore.UTC().Format(time.RFC3339Nano) + "/" + k.ID })
	if bad != "" {
		badRequest(w, bad)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) revocations(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.opts.Revocations.Stats())
}

// maxExplainBody bounds an explain request.
const maxExplainBody = 64 << 10

func (a *API) explain(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxExplainBody))
	if err != nil {
		badRequest(w, "the body is unreadable or larger than 64 KiB")
		return
	}
	var req gateway.ExplainRequest
	if err := decodeStrict(body, &req); err != nil {
		badRequest(w, "the body must be a JSON object with method, path and token, or clientId, scopes and audiences: "+err.Error())
		return
	}
	x, err := a.opts.Explainer.Explain(r.Context(), req)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, x)
}

type keyStatus = keys.KeyStatus

// decodeStrict decodes one JSON object with no unknown field.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
