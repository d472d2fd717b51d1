package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// nginxBinary is the nginx to start, or "" when there is none (the nginx
// baseline is then not measured; hack/install-nginx.sh installs the Debian
// package).
func nginxBinary(flagValue string) string {
	if flagValue == "" {
		return ""
	}
	path, err := exec.LookPath(flagValue)
	if err != nil {
		return ""
	}
	return path
}

// nginxConfig is the configuration of the nginx baseline: a proxy_pass from
// addr's routePrefix to upstreamURL's backendPath, as the gateway's route
// does, with upstream keep-alive and no authentication. dir holds the pid
// file, the error log and the temporary paths; with cert and key (the TLS
// round) it serves that certificate over HTTPS.
func nginxConfig(dir, addr, upstreamURL, cert, key string) (string, error) {
	u, err := url.Parse(upstreamURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("nginx upstream %q: want an absolute URL", upstreamURL)
	}
	listen := addr
	tlsLines := ""
	if cert != "" {
		listen += " ssl"
		// nginx before 1.23.4 (Debian's is 1.22) leaves TLS 1.3 out of its
		// default protocols: without this line it answered the load
		// generator over TLS 1.2 while every other target spoke 1.3.
		tlsLines = fmt.Sprintf("\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;\n\t\tssl_protocols TLSv1.2 TLSv1.3;\n\t\tssl_session_cache shared:SSL:10m;\n", cert, key)
	}
	p := func(s string) string { return filepath.Join(dir, s) }
	var b strings.Builder
	fmt.Fprintf(&b, `daemon off;
worker_processes auto;
pid %s;
error_log %s warn;

events {
	worker_connections 4096;
}

http {
	access_log off;
	client_body_temp_path %s;
	proxy_temp_path %s;
	fastcgi_temp_path %s;
	uwsgi_temp_path %s;
	scgi_temp_path %s;
	keepalive_requests 1000000;

	upstream bench_upstream {
		server %s;
		keepalive 64;
	}

	server {
		listen %s;
%s
		location %s {
			proxy_pass http://bench_upstream%s;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
		location = / {
			return 200 "{\"ok\":true}";
		}
	}
}
`, p("nginx.pid"), p("error.log"), p("client_body"), p("proxy"), p("fastcgi"), p("uwsgi"), p("scgi"),
		u.Host, listen, tlsLines, routePrefix, backendPath)
	return b.String(), nil
}

// startNginx writes the configuration into a directory of its own under
// workDir and starts nginx (bin) in the foreground as a process of the
// harness.
func startNginx(workDir, bin, addr, upstreamURL, cert, key string) (*process, error) {
	dir, err := os.MkdirTemp(workDir, "nginx-")
	if err != nil {
		return nil, err
	}
	conf, err := nginxConfig(dir, addr, upstreamURL, cert, key)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	// -e: the error log before the configuration is read (the packaged
	// default, /var/log/nginx, may not be writable); -p: relative paths.
	return startProcess(workDir, "nginx-"+addr[strings.LastIndexByte(addr, ':')+1:], bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
}
