package apiserver

import (
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// HealthHandler serves /healthz (the live checks) and /readyz (the ready
// checks) as controller-runtime's probe server does — an aggregate, one
// subpath per check, ?verbose and ?exclude — except that a failing check
// answers 503 Service Unavailable instead of 500: a replica that is not
// ready yet is in a state, not in error, and load balancers and clients
// read 503 as "try another one".
func HealthHandler(live, ready map[string]healthz.Checker) http.Handler {
	mux := http.NewServeMux()
	for path, checks := range map[string]map[string]healthz.Checker{"/healthz": live, "/readyz": ready} {
		h := unavailable{&healthz.Handler{Checks: checks}}
		mux.Handle(path, http.StripPrefix(path, h))
		mux.Handle(path+"/", http.StripPrefix(path, h))
	}
	return mux
}

type unavailable struct{ http.Handler }

func (u unavailable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.Handler.ServeHTTP(status503{w}, r)
}

// status503 turns healthz.Handler's 500 into 503.
type status503 struct{ http.ResponseWriter }

func (s status503) WriteHeader(code int) {
	if code == http.StatusInternalServerError {
		code = http.StatusServiceUnavailable
	}
	s.ResponseWriter.WriteHeader(code)
}
