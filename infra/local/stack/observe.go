package stack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/lambdamain"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/tracing"
)

// observer instruments the functions as lambdamain does in a Lambda: one
// EMF document per invocation, here written to the dev metrics instead of
// stdout, and one span per invocation, exported when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (a local collector or Jaeger).
type observer struct {
	env     config.Lookup
	tp      tracing.Provider
	metrics *devMetrics
}

func newObserver(env config.Lookup) (*observer, error) {
	tp, err := tracing.Setup(env, "herald-local")
	if err != nil {
		return nil, err
	}
	return &observer{env: env, tp: tp, metrics: newDevMetrics()}, nil
}

// wrap instruments the handler of the function with the short name fn.
func (o *observer) wrap(fn string, h lambda.Handler) lambda.Handler {
	if o == nil {
		return h
	}
	em, err := metrics.FromEnv(o.env, fn)
	if err != nil {
		em = &metrics.Emitter{Namespace: metrics.DefaultNamespace, Function: fn, Driver: cmp.Or(o.env.Connection(), "null")}
	}
	em.Out = o.metrics
	return lambdamain.Instrument(fn, h, em, o.tp)
}

// tracesTo says where spans go, for the banner.
func (s *Stack) tracesTo() string {
	if s.fns.obs == nil || s.fns.obs.tp == nil {
		return "nowhere: set OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	return cmp.Or(s.env.Get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), s.env.Get("OTEL_EXPORTER_OTLP_ENDPOINT"))
}

// close exports the spans still buffered.
func (o *observer) close() {
	if o == nil || o.tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o.tp.Shutdown(ctx)
}

// devMetrics keeps what the functions' EMF documents say, read back as
// CloudWatch would read them, for /dev/metrics: totals per function and
// the lag of the last minutes.
type devMetrics struct {
	mu     sync.Mutex
	start  time.Time
	totals map[string]map[string]float64 // function -> metric -> sum
	lag    []lagPoint
	docs   int
}

// lagPoint is one invocation's lag: its median and maximum.
type lagPoint struct {
	At       int64   `json:"at"` // Unix ms
	Function string  `json:"function"`
	P50      float64 `json:"p50"`
	Max      float64 `json:"max"`
	N        int     `json:"n"`
}

// lagWindow is how far back the lag chart reaches.
const lagWindow = 15 * time.Minute

func newDevMetrics() *devMetrics {
	return &devMetrics{start: time.Now(), totals: map[string]map[string]float64{}}
}

// Write takes EMF documents, one per line.
func (d *devMetrics) Write(b []byte) (int, error) {
	for line := range bytes.Lines(b) {
		p, err := metrics.Parse(bytes.TrimSpace(line))
		if err != nil {
			continue
		}
		d.add(p)
	}
	return len(b), nil
}

func (d *devMetrics) add(p metrics.Parsed) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs++
	fn := p.Dimensions[metrics.DimFunction]
	t := d.totals[fn]
	if t == nil {
		t = map[string]float64{}
		d.totals[fn] = t
	}
	for name, vs := range p.Values {
		if p.Units[name] == metrics.Milliseconds {
			t[name+"Count"] += float64(len(vs))
			continue
		}
		t[name] += p.Sum(name)
	}
	if vs := slices.Sorted(slices.Values(p.Values[metrics.Lag])); len(vs) > 0 {
		d.lag = append(d.lag, lagPoint{At: p.Timestamp.UnixMilli(), Function: fn, P50: vs[len(vs)/2], Max: vs[len(vs)-1], N: len(vs)})
	}
	cut := time.Now().Add(-lagWindow).UnixMilli()
	i := 0
	for i < len(d.lag) && d.lag[i].At < cut {
		i++
	}
	d.lag = d.lag[i:]
}

// snapshot is /dev/metrics.json.
type snapshot struct {
	Since     int64                         `json:"since"`
	Documents int                           `json:"documents"`
	Totals    map[string]map[string]float64 `json:"totals"`
	Lag       []lagPoint                    `json:"lag"`
}

func (d *devMetrics) snapshot() snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := snapshot{Since: d.start.UnixMilli(), Documents: d.docs, Totals: map[string]map[string]float64{}, Lag: slices.Clone(d.lag)}
	for fn, t := range d.totals {
		s.Totals[fn] = map[string]float64{}
		for k, v := range t {
			s.Totals[fn][k] = v
		}
	}
	return s
}

// devMetricsJSON serves GET /dev/metrics.json.
func (s *Stack) devMetricsJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.MarshalWrite(w, s.fns.obs.metrics.snapshot())
}
