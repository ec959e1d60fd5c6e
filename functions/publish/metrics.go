package publish

import (
	"context"
	"net/http"
	"time"

	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/metrics"
)

// statusWriter remembers the status a request was answered with, for
// PublishAccepted and PublishRefused.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// count records the request as accepted (2xx) or refused (anything else).
func (w *statusWriter) count(ctx context.Context) {
	if w.status/100 == 2 || w.status == 0 {
		metrics.From(ctx).Add(metrics.PublishAccepted, 1)
	} else {
		metrics.From(ctx).Add(metrics.PublishRefused, 1)
	}
}

// arrival is when API Gateway received the request (requestContext's
// timeEpoch), the start of its events' Lag; zero outside an HTTP API.
func arrival(ctx context.Context) time.Time {
	if rc, ok := httpapi.RequestContext(ctx); ok && rc.TimeEpoch > 0 {
		return time.UnixMilli(rc.TimeEpoch)
	}
	return time.Time{}
}
