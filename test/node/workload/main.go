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
	"sync"
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
	// /loop/start?auth=MODE&scope=S&path=P calls the gateway again and
	// again (a new connection each time, so every call picks a Service
	// endpoint afresh) with one token until /loop/stop, which answers the
	// counts.
	var lp *loop
	var mu sync.Mutex
	mux.HandleFunc("GET /loop/start", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if lp != nil {
			http.Error(w, "a loop runs", http.StatusConflict)
			return
		}
		q := r.URL.Query()
		l, err := startLoop(q.Get("auth"), q.Get("scope"), q.Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		lp = l
		io.WriteString(w, "started\n")
	})
	mux.HandleFunc("GET /loop/stop", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if lp == nil {
			http.Error(w, "no loop runs", http.StatusConflict)
			return
		}
		res := lp.stop()
		lp = nil
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	})
	return mux
}

// LoopResult counts a loop's calls.
type LoopResult struct {
	Calls  int      `json:"calls"`
	Failed int      `json:"failed"`
	Errors []string `json:"errors"` // the first few failures
}

type loop struct {
	done chan struct{}
	res  chan LoopResult
}

func startLoop(auth, scope, path string) (*loop, error) {
	client, token, _, err := tokenFor(auth, scope)
	if err != nil {
		return nil, err
	}
	l := &loop{done: make(chan struct{}), res: make(chan LoopResult, 1)}
	go func() {
		var r LoopResult
		for {
			select {
			case <-l.done:
				l.res <- r
				return
			case <-time.After(20 * time.Millisecond):
			}
			r.Calls++
			status, body, err := get(client, token, path)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("status %d: %s", status, body)
			}
			if err != nil {
				r.Failed++
				if len(r.Errors) < 10 {
					r.Errors = append(r.Errors, time.Now().UTC().Format("15:04:05.000")+" "+err.Error())
				}
			}
		}
	}()
	return l, nil
}

func (l *loop) stop() LoopResult {
	close(l.done)
	return <-l.res
}

// Result is a gateway call as the agent saw it.
type Result struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	// TokenSource says where the token came from, never the token.
	TokenSource string `json:"tokenSource"`
}

func call(auth, scope, path string) (*Result, error) {
	client, token, source, err := tokenFor(auth, scope)
	if err != nil {
		return nil, err
	}
	status, body, err := get(client, token, path)
	if err != nil {
		return nil, err
	}
	return &Result{Status: status, Body: body, TokenSource: source}, nil
}

// get calls the gateway's path with the bearer token.
func get(client *http.Client, token, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(os.Getenv("GATEWAY_URL"), "/")+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(body), err
}

// tokenFor gets a token the way auth says, and a client that trusts only
// the ca.crt of the Secret that way uses.
func tokenFor(auth, scope string) (client *http.Client, token, source string, err error) {
	caDir := map[string]string{
		"tokenfile":          filepath.Dir(os.Getenv("TOKEN_FILE")),
		"client_credentials": os.Getenv("CREDENTIALS_DIR"),
		"serviceaccount":     os.Getenv("SA_CREDENTIALS_DIR"),
	}[auth]
	if client, err = trustingCA(filepath.Join(caDir, "ca.crt")); err != nil {
		return nil, "", "", err
	}
	switch auth {
	case "tokenfile":
		// A mounted token Secret: the file is the token.
		source = os.Getenv("TOKEN_FILE")
		b, rerr := os.ReadFile(source)
		if rerr != nil {
			return nil, "", "", rerr
		}
		token = strings.TrimSpace(string(b))
	case "client_credentials":
		dir := os.Getenv("CREDENTIALS_DIR")
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
		for _, k := range []string{"client_id", "client_secret"} {
			b, rerr := os.ReadFile(filepath.Join(dir, k))
			if rerr != nil {
				return nil, "", "", rerr
			}
			form.Set(k, string(b))
		}
		source = "client_credentials from " + dir
		token, err = requestToken(client, dir, form)
	case "serviceaccount":
		sa, rerr := os.ReadFile(os.Getenv("SA_TOKEN_FILE"))
		if rerr != nil {
			return nil, "", "", rerr
		}
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {scope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {strings.TrimSpace(string(sa))},
		}
		source = "client_credentials with the projected ServiceAccount token " + os.Getenv("SA_TOKEN_FILE")
		token, err = requestToken(client, os.Getenv("SA_CREDENTIALS_DIR"), form)
	default:
		return nil, "", "", fmt.Errorf("auth must be tokenfile, client_credentials or serviceaccount, not %q", auth)
	}
	return client, token, source, err
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
