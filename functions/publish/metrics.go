package publish

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/metrics"
)

// statusWriter remembers the status a request was answered with, for
// PublishAccepted and PublishRefused.
type statusWriter struct {
	http.ResponseWriter
	m       *metrics.Recorder
	written bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.written {
		w.written = true
		if status/100 == 2 {
			w.m.Add(metrics.PublishAccepted, 1)
		} else {
			w.m.Add(metrics.PublishRefused, 1)
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// publishing reports whether r asks to publish (events or batch_events),
// the requests PublishAccepted and PublishRefused count.
func publishing(r *http.Request) bool {
	return r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/events") || strings.HasSuffix(r.URL.Path, "/batch_events"))
}

// counted returns w recording whether the request in r's context was
// accepted (2xx) or refused (anything else) when its answer is written.
func counted(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	return &statusWriter{ResponseWriter: w, m: metrics.From(r.Context())}
}

// arrival is when API Gateway received the request (requestContext's
// timeEpoch), the start of its events' Lag; zero outside an HTTP API.
func arrival(ctx context.Context) time.Time {
	if rc, ok := httpapi.RequestContext(ctx); ok && rc.TimeEpoch > 0 {
		return time.UnixMilli(rc.TimeEpoch)
	}
	return time.Time{}
}
