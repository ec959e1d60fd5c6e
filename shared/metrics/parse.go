package metrics

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"time"
)

// Parsed is an EMF document read back: what CloudWatch would extract.
type Parsed struct {
	Namespace  string
	Timestamp  time.Time
	Dimensions map[string]string
	// Values are each metric's values; a count is one value.
	Values map[string][]float64
	Units  map[string]Unit
	// Root holds every member of the document, _aws aside.
	Root map[string]jsontext.Value
}

// Sum is the total of a metric's values: its count, for a count.
func (p Parsed) Sum(name string) float64 {
	var s float64
	for _, v := range p.Values[name] {
		s += v
	}
	return s
}

// Parse reads one EMF document as CloudWatch does and checks what the
// JSON Schema of the format cannot: that every member a directive refers to
// is at the root, each dimension a non-empty string and each metric a
// number or an array of at most 100 numbers. Documents with more than one
// directive are merged, as herald's share their dimensions.
func Parse(line []byte) (Parsed, error) {
	var root map[string]jsontext.Value
	if err := json.Unmarshal(line, &root); err != nil {
		return Parsed{}, fmt.Errorf("metrics: EMF document is not a JSON object: %w", err)
	}
	raw, ok := root["_aws"]
	if !ok {
		return Parsed{}, errors.New("metrics: EMF document has no _aws member")
	}
	delete(root, "_aws")
	var md Metadata
	if err := json.Unmarshal(raw, &md); err != nil {
		return Parsed{}, fmt.Errorf("metrics: _aws: %w", err)
	}
	if len(md.CloudWatchMetrics) == 0 {
		return Parsed{}, errors.New("metrics: _aws.CloudWatchMetrics is empty")
	}
	p := Parsed{Timestamp: time.UnixMilli(md.Timestamp), Dimensions: map[string]string{}, Values: map[string][]float64{}, Units: map[string]Unit{}, Root: root}
	for _, d := range md.CloudWatchMetrics {
		p.Namespace = d.Namespace
		for _, set := range d.Dimensions {
			for _, k := range set {
				var v string
				if err := json.Unmarshal(root[k], &v); err != nil || v == "" {
					return Parsed{}, fmt.Errorf("metrics: dimension %s is not a non-empty string at the root", k)
				}
				p.Dimensions[k] = v
			}
		}
		for _, m := range d.Metrics {
			v, ok := root[m.Name]
			if !ok {
				return Parsed{}, fmt.Errorf("metrics: metric %s is not at the root", m.Name)
			}
			var vs []float64
			if v.Kind() == '[' {
				if err := json.Unmarshal(v, &vs); err != nil || len(vs) > maxValues {
					return Parsed{}, fmt.Errorf("metrics: metric %s is not an array of at most %d numbers", m.Name, maxValues)
				}
			} else {
				var f float64
				if err := json.Unmarshal(v, &f); err != nil {
					return Parsed{}, fmt.Errorf("metrics: metric %s is not a number", m.Name)
				}
				vs = []float64{f}
			}
			p.Values[m.Name] = vs
			p.Units[m.Name] = m.Unit
		}
	}
	return p, nil
}
