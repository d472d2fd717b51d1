package servingcert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
)

// FileLoader polls a certificate and key file (and optionally a CA file)
// and loads them into a Source when their contents change: a mounted Secret
// is updated by the kubelet in place, which a poll sees whatever the
// symlink dance. Every replica runs it.
type FileLoader struct {
	CertFile, KeyFile, CAFile string
	Source                    *Source
	// Interval between polls; default 5s.
	Interval time.Duration
	Clock    clock.WithTicker
	Log      logr.Logger

	last [3][]byte
}

// NeedLeaderElection is false: every replica serves.
func (l *FileLoader) NeedLeaderElection() bool { return false }

// Load reads the files once and loads them when they changed.
func (l *FileLoader) Load() error {
	var now [3][]byte
	for i, p := range []string{l.CertFile, l.KeyFile, l.CAFile} {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read TLS file: %w", err)
		}
		now[i] = b
	}
	if bytes.Equal(now[0], l.last[0]) && bytes.Equal(now[1], l.last[1]) && bytes.Equal(now[2], l.last[2]) {
		return nil
	}
	if _, _, err := l.Source.Load(now[0], now[1], now[2]); err != nil {
		return fmt.Errorf("TLS files %s, %s: %w", l.CertFile, l.KeyFile, err)
	}
	l.last = now
	l.Log.Info("Loaded the serving certificate from files", "certFile", l.CertFile)
	return nil
}

// Start polls until ctx ends.
func (l *FileLoader) Start(ctx context.Context) error {
	interval := l.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	c := l.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	t := c.NewTicker(interval)
	defer t.Stop()
	for {
		if err := l.Load(); err != nil {
			// A half-written pair (cert updated, key not yet) fixes itself
			// at the next poll.
			l.Log.Error(err, "Cannot load the serving certificate files; serving the last one loaded")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}
