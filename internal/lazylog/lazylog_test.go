package lazylog

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type fixedClock struct{}

func (fixedClock) Now() time.Time                         { return time.Unix(1700000000, 0) }
func (fixedClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

// zapLogger is a JSON zap logger at V(1) writing to buf, with a fixed
// clock, the caller and stack traces from errors on.
func zapLogger(buf *bytes.Buffer) logr.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.AddSync(buf), zapcore.Level(-1))
	return zapr.NewLogger(zap.New(core, zap.WithClock(fixedClock{}), zap.AddCaller()))
}

// script logs as controllers do: names, values in steps, lines at several
// levels, an error, and a disabled level.
func script(l logr.Logger) {
	l = l.WithName("oauthclient").WithValues("controller", "oauthclient")
	r := l.WithValues("OAuthClient", map[string]string{"name": "a", "namespace": "ns"}, "reconcileID", "42")
	r.Info("Issued access token", "revision", 3)
	r.V(1).Info("detail", "n", 1)
	r.V(2).Info("never shown")
	r.WithName("audit").WithValues("routes", 2).Error(errors.New("boom"), "Audit failed", "retry", true)
	l.Info("no reconcile values")
}

func TestTheLinesAreTheSameAsWithoutIt(t *testing.T) {
	var plain, lazy bytes.Buffer
	script(zapLogger(&plain))
	script(New(zapLogger(&lazy)))
	if plain.Len() == 0 {
		t.Fatal("the script logged nothing")
	}
	if plain.String() != lazy.String() {
		t.Errorf("lines differ:\nwithout:\n%s\nwith:\n%s", plain.String(), lazy.String())
	}
}

func TestWithValuesDoesNotEncodeUntilALineIsLogged(t *testing.T) {
	var buf bytes.Buffer
	l := New(zapLogger(&buf))
	allocs := testing.AllocsPerRun(100, func() {
		_ = l.WithValues("controller", "oauthclient", "reconcileID", "42").V(2).Enabled()
	})
	// A Sink and its values slice; zapr alone clones its core and encoder.
	if allocs > 4 {
		t.Errorf("WithValues allocated %.0f times per call", allocs)
	}
	if buf.Len() != 0 {
		t.Errorf("logged %q", buf.String())
	}
}

func TestANilSinkStaysDiscarded(t *testing.T) {
	l := New(logr.Discard())
	if l.GetSink() != nil {
		t.Fatalf("a discarding logger got the sink %T", l.GetSink())
	}
	l.WithValues("k", "v").Info("nothing")
}
