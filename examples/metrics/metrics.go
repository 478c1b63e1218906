// Package metrics exports wsauth's events to Prometheus: one
// Options.Events hook, three metrics, with the events' stable Kind and
// Reason as labels. See the Example.
package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wsauth/wsauth/wsauth"
)

// Events registers these metrics with reg and returns an Options.Events
// hook that keeps them:
//
//	wsauth_events_total{kind, reason}    counter: every event, by Event.Kind and Event.Reason
//	wsauth_connections                   gauge: authenticated connections open now
//	wsauth_connection_duration_seconds   histogram: how long connections lived (1 s, 1 min, 1 h buckets)
//
// Reason is one of a fixed set (see wsauth.Event), so the counter has a
// few dozen series at most. Events panics, as promauto does, if reg
// already has metrics of these names: share one hook between the
// Authenticators that reg counts.
func Events(reg prometheus.Registerer) func(context.Context, wsauth.Event) {
	f := promauto.With(reg)
	events := f.NewCounterVec(prometheus.CounterOpts{Name: "wsauth_events_total", Help: "wsauth events by kind and reason."}, []string{"kind", "reason"})
	live := f.NewGauge(prometheus.GaugeOpts{Name: "wsauth_connections", Help: "Authenticated WebSocket connections open now."})
	lifetime := f.NewHistogram(prometheus.HistogramOpts{Name: "wsauth_connection_duration_seconds", Help: "How long authenticated WebSocket connections lived.", Buckets: []float64{1, 60, 3600}})
	return func(_ context.Context, e wsauth.Event) {
		events.WithLabelValues(string(e.Kind), e.Reason).Inc()
		switch e.Kind {
		case wsauth.EventAuthenticated:
			live.Inc()
		case wsauth.EventClosed:
			live.Dec()
			lifetime.Observe(e.Duration.Seconds())
		}
	}
}
