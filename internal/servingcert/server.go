package servingcert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
)

// Server is a manager runnable serving an http.Server over TLS with the
// certificate of Source, or plain HTTP when Source is nil (--tls-mode=off).
// It runs on every replica.
type Server struct {
	Name   string
	Server *http.Server
	// Source supplies the certificate; nil serves plain HTTP.
	Source *Source
	// ShutdownTimeout bounds the graceful shutdown when the context ends.
	ShutdownTimeout time.Duration
	Log             logr.Logger
}

// NeedLeaderElection is false: every replica serves.
func (s *Server) NeedLeaderElection() bool { return false }

// Start listens and serves until ctx ends, then shuts down gracefully.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Server.Addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", s.Name, s.Server.Addr, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
		defer cancel()
		if err := s.Server.Shutdown(sctx); err != nil {
			s.Log.Error(err, "Graceful shutdown did not finish", "server", s.Name)
		}
	}()
	scheme := "http"
	if s.Source != nil {
		scheme = "https"
	}
	s.Log.Info("Serving", "server", s.Name, "address", ln.Addr().String(), "scheme", scheme)
	if s.Source != nil {
		s.Server.TLSConfig = s.Source.TLSConfig()
		err = s.Server.ServeTLS(ln, "", "")
	} else {
		err = s.Server.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: serve: %w", s.Name, err)
	}
	<-done
	return nil
}
