// Command workload is the node suite's workload image: one static binary
// that is a route's backend ("backend") or a pod using scopegate the way
// the README tells workloads to ("agent"). The agent serves a small HTTP
// API on the pod network that the test drives: it reads mounted files and
// calls the gateway with a token it got the way it was asked to (a mounted
// token Secret, client_credentials with the mounted credentials Secret, or
// its projected ServiceAccount token). Its only trust for scopegate is the
// mounted ca.crt. It never prints a token.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: workload backend|agent")
	}
	var h http.Handler
	switch os.Args[1] {
	case "backend":
		h = http.HandlerFunc(backend)
	case "agent":
		h = agentMux()
	default:
		log.Fatalf("unknown mode %q", os.Args[1])
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8090"
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// backend answers every request with the path it got and whether it
// carried credentials (the gateway forwards none).
func backend(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "backend %s %s authorization=%t\n", os.Getenv("NAME"), r.URL.Path, r.Header.Get("Authorization") != "")
}

func agentMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	// /file?p=PATH: a mounted file's content, so the test sees what the
	// kubelet wrote into the pod.
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Clean(r.URL.Query().Get("p")))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	// /call?auth=MODE&scope=S&path=/route/x: gets a token by MODE (asking
	// for scope S at the token endpoint) and calls the gateway; the answer
	// is the gateway's status and body as JSON.
	mux.HandleFunc("GET /call", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		res, err := call(q.Get("auth"), q.Get("scope"), q.Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	})
	return mux
}

// Result is a gateway call as the agent saw it.
type Result struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	// TokenSource says where the token came from, never the token.
	TokenSource string `json:"tokenSource"`
}

func call(auth, scope, path string) (*Result, error) {
	// Each way trusts only the ca.crt of the Secret it uses.
	caDir := map[string]string{
		"tokenfile":          filepath.Dir(os.Getenv("TOKEN_FILE")),
		"client_credentials": os.Getenv("CREDENTIALS_DIR"),
		"serviceaccount":     os.Getenv("SA_CREDENTIALS_DIR"),
	}[auth]
	client, err := trustingCA(filepath.Join(caDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	var token, source string
	switch auth {
	case "tokenfile":
		// A mounted token Secret: the file is the token.
		source = os.Getenv("TOKEN_FILE")
		b, err := os.ReadFile(source)
		if err != nil {
			return nil, err
		}
		token = strings.TrimSpace(string(b))
	case "client_credentials":
		dir := os.Getenv("CREDENTIALS_DIR")
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
		for _, k := range []string{"client_id", "client_secret"} {
			b, err := os.ReadFile(filepath.Join(dir, k))
			if err != nil {
				return nil, err
			}
			form.Set(k, string(b))
		}
		source = "client_credentials from " + dir
		if token, err = requestToken(client, dir, form); err != nil {
			return nil, err
		}
	case "serviceaccount":
		b, err := os.ReadFile(os.Getenv("SA_TOKEN_FILE"))
		if err != nil {
			return nil, err
		}
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {scope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {strings.TrimSpace(string(b))},
		}
		source = "client_credentials with the projected ServiceAccount token " + os.Getenv("SA_TOKEN_FILE")
		if token, err = requestToken(client, os.Getenv("SA_CREDENTIALS_DIR"), form); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("auth must be tokenfile, client_credentials or serviceaccount, not %q", auth)
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(os.Getenv("GATEWAY_URL"), "/")+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return &Result{Status: resp.StatusCode, Body: string(body), TokenSource: source}, nil
}

// requestToken posts form to the token_url of the mounted credentials
// Secret in dir and returns the access token.
func requestToken(client *http.Client, dir string, form url.Values) (string, error) {
	tokenURL, err := os.ReadFile(filepath.Join(dir, "token_url"))
	if err != nil {
		return "", err
	}
	resp, err := client.PostForm(strings.TrimSpace(string(tokenURL)), form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&tr); err != nil {
		return "", fmt.Errorf("token endpoint answered %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d: %s %s", resp.StatusCode, tr.Error, tr.Description)
	}
	return tr.AccessToken, nil
}

// trustingCA is a client that trusts only the PEM bundle in caFile.
func trustingCA(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + caFile)
	}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
	}, nil
}
