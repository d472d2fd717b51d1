// Package lazylog defers a logger's WithValues until something is logged.
//
// controller-runtime gives every reconcile a logger with its controller,
// object and reconcile ID (two WithValues), and zapr encodes those values
// into a fresh buffer at once. Most reconciles log nothing: at 10,000
// OAuthClients that encoding was a tenth of what the manager allocated
// while it worked through a burst. A Sink keeps the values and hands them
// to the sink underneath with each line that is logged, which writes the
// same fields in the same order.
package lazylog

import "github.com/go-logr/logr"

// New wraps l's sink, which l has initialized, one frame deeper: its
// lines are logged through this sink's methods.
func New(l logr.Logger) logr.Logger {
	sink := l.GetSink()
	if sink == nil {
		return l
	}
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		sink = cd.WithCallDepth(1)
	}
	return logr.New(&Sink{sink: sink})
}

// Sink is a logr.LogSink whose values are kept until a line is logged.
type Sink struct {
	sink logr.LogSink
	// values are the key/value pairs of WithValues calls, oldest first;
	// never appended to in place (each WithValues copies).
	values []any
}

var (
	_ logr.LogSink          = (*Sink)(nil)
	_ logr.CallDepthLogSink = (*Sink)(nil)
)

// Init does nothing: the sink underneath was initialized by its own
// logger (New).
func (s *Sink) Init(logr.RuntimeInfo) {}

// Enabled asks the sink underneath.
func (s *Sink) Enabled(level int) bool { return s.sink.Enabled(level) }

// Info logs with the kept values before kv.
func (s *Sink) Info(level int, msg string, kv ...any) {
	s.sink.Info(level, msg, s.with(kv)...)
}

// Error logs with the kept values before kv.
func (s *Sink) Error(err error, msg string, kv ...any) {
	s.sink.Error(err, msg, s.with(kv)...)
}

// WithValues keeps kv after the values already kept.
func (s *Sink) WithValues(kv ...any) logr.LogSink {
	values := make([]any, 0, len(s.values)+len(kv))
	return &Sink{sink: s.sink, values: append(append(values, s.values...), kv...)}
}

// WithName names the sink underneath; the kept values stay kept.
func (s *Sink) WithName(name string) logr.LogSink {
	return &Sink{sink: s.sink.WithName(name), values: s.values}
}

// WithCallDepth passes the depth on when the sink underneath takes it.
func (s *Sink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.sink.(logr.CallDepthLogSink); ok {
		return &Sink{sink: cd.WithCallDepth(depth), values: s.values}
	}
	return s
}

func (s *Sink) with(kv []any) []any {
	if len(s.values) == 0 {
		return kv
	}
	out := make([]any, 0, len(s.values)+len(kv))
	return append(append(out, s.values...), kv...)
}
