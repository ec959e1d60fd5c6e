package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Transport returns base counting each request in the Recorder of the
// request's context: ProviderRequests, ProviderLatency and, for a failed
// request, ProviderErrors by class. The drivers' HTTP clients send through
// it, below their own concurrency limit, so the latency is the round trip
// alone.
func Transport(base http.RoundTripper) http.RoundTripper {
	return transport{base}
}

type transport struct{ base http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := From(req.Context())
	if r == nil {
		return t.base.RoundTrip(req)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	r.Add(ProviderRequests, 1)
	r.Since(ProviderLatency, start)
	if class := ErrorClass(resp, err); class != "" {
		r.AddClass(ProviderErrors, class, 1)
	}
	return resp, err
}

// ErrorClass is the class of a failed provider request: "429", "4xx",
// "5xx", "Timeout" (the request's deadline or a network timeout) or
// "Network" (any other transport failure); "" for a success.
func ErrorClass(resp *http.Response, err error) string {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return "Timeout"
		}
		return "Network"
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		return "429"
	case s >= 500:
		return "5xx"
	case s >= 400:
		return "4xx"
	}
	return ""
}
