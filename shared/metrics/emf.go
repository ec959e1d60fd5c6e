package metrics

import (
	"cmp"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultNamespace is the CloudWatch namespace when
// HERALD_METRICS_NAMESPACE is not set.
const DefaultNamespace = "herald"

// The dimension names of every document.
const (
	DimFunction = "Function"
	DimDriver   = "Driver"
)

// Lookup reads configuration; shared/config's Lookup is one.
type Lookup interface {
	Get(key string) string
	// Connection is the broadcast connection (BROADCAST_CONNECTION, or
	// Laravel 10's BROADCAST_DRIVER).
	Connection() string
}

// Emitter writes one EMF document per invocation.
type Emitter struct {
	// Namespace is the CloudWatch namespace. Required.
	Namespace string
	// Function and Driver are the dimensions ("queue", "pusher").
	Function, Driver string
	// Out receives one line per document; nil means os.Stdout, where
	// Lambda's log capture picks it up.
	Out io.Writer

	mu sync.Mutex // one document per write, whole, among concurrent invocations
}

// FromEnv returns the Emitter of function: the namespace from
// HERALD_METRICS_NAMESPACE, the driver from the broadcast connection
// (default null, as the drivers default).
func FromEnv(env Lookup, function string) (*Emitter, error) {
	ns := cmp.Or(env.Get("HERALD_METRICS_NAMESPACE"), DefaultNamespace)
	if len(ns) > 255 {
		return nil, fmt.Errorf("HERALD_METRICS_NAMESPACE is %d characters long; CloudWatch takes at most 255", len(ns))
	}
	return &Emitter{Namespace: ns, Function: function, Driver: cmp.Or(env.Connection(), "null")}, nil
}

// Document is an EMF document as herald writes it: the metadata, the two
// dimensions, the metrics and any properties (trace and request ids),
// flattened at the root as EMF wants them.
type Document struct {
	AWS      Metadata       `json:"_aws"`
	Function string         `json:"Function"`
	Driver   string         `json:"Driver"`
	Values   map[string]any `json:",embed"`
}

// Metadata is EMF's _aws member.
type Metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []Directive `json:"CloudWatchMetrics"`
}

// Directive is an EMF MetricDirective.
type Directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []Definition `json:"Metrics"`
}

// Definition is an EMF MetricDefinition.
type Definition struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

// maxMetrics is EMF's limit on the metrics of one directive.
const maxMetrics = 100

// Document returns r as one document stamped at now, with props (trace
// and request ids) as plain members. An empty Recorder still makes a
// document: a zero is a data point an alarm can tell from missing data.
func (e *Emitter) Document(r *Recorder, now time.Time, props map[string]string) Document {
	d := Document{
		AWS:      Metadata{Timestamp: now.UnixMilli()},
		Function: e.Function,
		Driver:   e.Driver,
		Values:   map[string]any{},
	}
	for k, v := range props {
		if v != "" {
			d.Values[k] = v
		}
	}
	var defs []Definition
	if r != nil {
		r.mu.Lock()
		for _, name := range r.order {
			if s, ok := r.values[name]; ok {
				d.Values[name] = append([]float64(nil), s.v...)
			} else {
				d.Values[name] = r.counts[name]
			}
			defs = append(defs, Definition{Name: name, Unit: UnitOf(name)})
		}
		r.mu.Unlock()
	}
	// More than 100 metrics would need a second directive; herald has
	// fewer than 30 names, so the directives are cut for safety only.
	for len(defs) > 0 || len(d.AWS.CloudWatchMetrics) == 0 {
		n := min(len(defs), maxMetrics)
		d.AWS.CloudWatchMetrics = append(d.AWS.CloudWatchMetrics, Directive{
			Namespace:  e.Namespace,
			Dimensions: [][]string{{DimFunction, DimDriver}},
			Metrics:    append([]Definition{}, defs[:n]...),
		})
		defs = defs[n:]
	}
	return d
}

// Flush writes r's document as one line.
func (e *Emitter) Flush(r *Recorder, now time.Time, props map[string]string) error {
	b, err := json.Marshal(e.Document(r, now, props), jsontext.Multiline(false))
	if err != nil {
		return fmt.Errorf("metrics: encoding the EMF document: %w", err)
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = cmp.Or[io.Writer](e.Out, os.Stdout).Write(b)
	if err != nil {
		return fmt.Errorf("metrics: writing the EMF document: %w", err)
	}
	return nil
}
