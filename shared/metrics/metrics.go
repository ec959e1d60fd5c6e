package metrics

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// The metric names herald emits. Counts unless said otherwise.
const (
	// Events is how many events a trigger or publish request brought.
	Events = "Events"
	// Broadcasts is how many of them the provider accepted.
	Broadcasts = "Broadcasts"
	// ProviderRequests is how many HTTP requests went to the provider.
	ProviderRequests = "ProviderRequests"
	// ProviderErrors is how many of them failed; ProviderErrors plus a
	// class (ProviderErrors4xx, ProviderErrors429, ProviderErrors5xx,
	// ProviderErrorsTimeout, ProviderErrorsNetwork) counts one class.
	ProviderErrors = "ProviderErrors"
	// ProviderLatency is each provider request's round trip, in
	// milliseconds.
	ProviderLatency = "ProviderLatency"
	// Retries is how many messages were sent again within the invocation
	// after a temporary failure.
	Retries = "Retries"
	// Redelivered is how many trigger items were handed back to their
	// source (SQS, the stream) to be delivered again.
	Redelivered = "Redelivered"
	// Poison is how many trigger items can never be broadcast as they are.
	Poison = "Poison"
	// DuplicatesSuppressed is how many messages were not sent because an
	// earlier delivery had broadcast them.
	DuplicatesSuppressed = "DuplicatesSuppressed"
	// Lag is, per item the provider accepted, the time from the trigger's
	// own timestamp (SQS SentTimestamp, the stream record's
	// ApproximateCreationDateTime, the publish request's arrival) to the
	// acceptance, in milliseconds.
	Lag = "Lag"
	// AuthGranted counts signed subscriptions and sign-ins.
	AuthGranted = "AuthGranted"
	// AuthDenied counts refusals; AuthDenied plus a reason class
	// (AuthDeniedUnauthenticated, AuthDeniedForbidden, AuthDeniedInvalid)
	// counts one class.
	AuthDenied = "AuthDenied"
	// PublishAccepted and PublishRefused count publish requests.
	PublishAccepted = "PublishAccepted"
	PublishRefused  = "PublishRefused"
	// WebhooksReceived counts provider webhook requests.
	WebhooksReceived = "WebhooksReceived"
)

// Unit is a CloudWatch unit.
type Unit string

const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// UnitOf is the unit of a metric name: milliseconds for the latencies,
// counts for the rest.
func UnitOf(name string) Unit {
	switch name {
	case ProviderLatency, Lag:
		return Milliseconds
	}
	return Count
}

// maxValues is EMF's limit on the values of one metric in one document.
const maxValues = 100

// Recorder holds one invocation's metrics. It is safe for concurrent use;
// the methods of a nil *Recorder do nothing.
type Recorder struct {
	mu     sync.Mutex
	counts map[string]float64
	values map[string]*sample
	order  []string // first use of each name, so documents read the same way every time
}

// sample is a metric's values: all of them up to maxValues, past that a
// uniform sample of maxValues (reservoir sampling), so percentiles stay
// honest on a 10,000-message batch within EMF's limit.
type sample struct {
	v    []float64
	seen int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{counts: map[string]float64{}, values: map[string]*sample{}}
}

// Add adds n to the count name.
func (r *Recorder) Add(name string, n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.use(name)
	r.counts[name] += float64(n)
}

// AddClass adds n to the count name and to its class's count, name+class.
func (r *Recorder) AddClass(name, class string, n int) {
	r.Add(name, n)
	if class != "" {
		r.Add(name+class, n)
	}
}

// Observe records one value of name (a latency, a lag).
func (r *Recorder) Observe(name string, v float64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.use(name)
	s := r.values[name]
	if s == nil {
		s = &sample{}
		r.values[name] = s
	}
	s.seen++
	if len(s.v) < maxValues {
		s.v = append(s.v, v)
	} else if i := rand.IntN(s.seen); i < maxValues {
		s.v[i] = v
	}
}

// Since records the milliseconds from t to now as a value of name; a zero
// t records nothing.
func (r *Recorder) Since(name string, t time.Time) {
	if r != nil && !t.IsZero() {
		r.Observe(name, float64(time.Since(t).Microseconds())/1000)
	}
}

func (r *Recorder) use(name string) {
	if _, ok := r.counts[name]; ok {
		return
	}
	if _, ok := r.values[name]; ok {
		return
	}
	r.order = append(r.order, name)
}

// Count returns the count name has reached (for tests and the local page).
func (r *Recorder) Count(name string) float64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[name]
}

type recorderKey struct{}

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// From returns the Recorder of ctx's invocation, or nil, which records
// nothing.
func From(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// Received counts one provider webhook request in ctx's invocation: what
// a webhook function calls once per request.
func Received(ctx context.Context) { From(ctx).Add(WebhooksReceived, 1) }
