package admin

import (
	"net/http"
	"time"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/llm"
)

// usageView is one OAuthClient's governance on LLM routes and the tokens
// it used in its quota's current windows, as this replica counted them
// (each limit its share of the replicas serving) or as Redis did.
type usageView struct {
	ClientID               string   `json:"clientId"`
	Namespace              string   `json:"namespace"`
	Name                   string   `json:"name"`
	AllowedModels          []string `json:"allowedModels"`
	MaxInputTokensPerCall  *int64   `json:"maxInputTokensPerCall,omitempty"`
	MaxOutputTokensPerCall *int64   `json:"maxOutputTokensPerCall,omitempty"`
	// Windows are the token quota's windows; empty when the client has
	// none (its tokens are then not counted, only metered in the metrics).
	Windows []windowView `json:"windows"`
	// CountedBy says whose counts these are: "this replica", "this
	// replica's share (1/N)" (each limit divided among N replicas) or
	// "every replica (redis)".
	CountedBy string `json:"countedBy,omitempty"`
}

type windowView struct {
	Window    string    `json:"window"`
	Limit     int64     `json:"limit"`
	Used      int64     `json:"used"`
	Remaining int64     `json:"remaining"`
	ResetsAt  time.Time `json:"resetsAt"`
}

// usage lists the OAuthClients with spec.llm and their token quota
// windows; ?clientId= keeps one.
func (a *API) usage(w http.ResponseWriter, r *http.Request) {
	list := &scopegatev1alpha1.OAuthClientList{}
	if err := a.opts.Reader.List(r.Context(), list); err != nil {
		a.opts.Log.Error(err, "Admin API cannot list OAuthClients")
		writeError(w, &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "cannot list OAuthClients now"})
		return
	}
	only := r.URL.Query().Get("clientId")
	views := []usageView{}
	for i := range list.Items {
		c := &list.Items[i]
		if c.Spec.LLM == nil || (only != "" && c.ClientID() != only) {
			continue
		}
		v := usageView{ClientID: c.ClientID(), Namespace: c.Namespace, Name: c.Name, AllowedModels: c.Spec.LLM.AllowedModels,
			MaxInputTokensPerCall: c.Spec.LLM.MaxInputTokensPerCall, MaxOutputTokensPerCall: c.Spec.LLM.MaxOutputTokensPerCall,
			Windows: []windowView{}}
		var states []llm.WindowState
		if a.opts.Usage != nil {
			states, v.CountedBy = a.opts.Usage.TokenUsage(r.Context(), v.ClientID)
		}
		for _, s := range states {
			v.Windows = append(v.Windows, windowView{Window: s.Name, Limit: s.Limit, Used: s.Used, Remaining: s.Remaining(), ResetsAt: s.Reset.UTC()})
		}
		views = append(views, v)
	}
	p, bad := paginate(r, views, func(v usageView) string { return v.Namespace + "/" + v.Name })
	if bad != "" {
		badRequest(w, bad)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
