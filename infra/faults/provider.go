package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Kind is one way a provider call fails.
type Kind int

const (
	// None: the call goes through to the real server.
	None Kind = iota
	// Status500: answered 500 without reaching the server.
	Status500
	// Status429: answered 429 without reaching the server.
	Status429
	// Slow: held without an answer until the client gives up (its timeout),
	// never reaching the server: a provider too slow to accept the events.
	Slow
	// Drop: the connection is closed without an answer, before the server
	// saw the events: a reset on the way in.
	Drop
	// AcceptedThenDropped: the server accepts (and delivers) the events,
	// then the connection is closed without an answer. The client sees a
	// failure for events that went out: the ambiguous case.
	AcceptedThenDropped
	// AcceptedThenSlow: the server accepts the events, then the answer is
	// held until the client gives up. Ambiguous, like AcceptedThenDropped.
	AcceptedThenSlow
	// Outage: answered 503 without reaching the server, for every call of
	// an outage (SetOutage), whatever the rate.
	Outage
)

func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case Status500:
		return "500"
	case Status429:
		return "429"
	case Slow:
		return "slow"
	case Drop:
		return "drop"
	case AcceptedThenDropped:
		return "accepted-then-dropped"
	case AcceptedThenSlow:
		return "accepted-then-slow"
	case Outage:
		return "outage"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Ambiguous reports whether k fails a call whose events were delivered.
func (k Kind) Ambiguous() bool { return k == AcceptedThenDropped || k == AcceptedThenSlow }

// maxHold bounds how long a slow fault holds a request whose client never
// gives up, so a test cannot hang on it.
const maxHold = 2 * time.Minute

// Provider is a provider stand-in in front of a real Pusher HTTP API (the
// local server's handler): each publish call (POST /apps/{id}/events or
// batch_events) fails, with probability Rate, in one of Kinds, chosen with
// a seeded generator so a run can be repeated; every other call, and every
// call not failed, goes to the server unchanged. Failed calls take the
// kinds in turn, so that every kind is exercised once a few calls failed. Counts of what was
// injected, and which events the ambiguous faults carried, are kept.
type Provider struct {
	next  http.Handler
	rate  float64
	kinds []Kind

	mu        sync.Mutex
	rng       *rand.Rand
	turn      int // the next kind to inject
	outage    int // calls left in the current outage
	injected  map[Kind]int
	calls     int
	ambiguous map[int]int // event serial -> ambiguous faults that carried it
	late      int         // calls forwarded after their client had given up
}

// NewProvider wraps next. rate is the share of publish calls to fail (0 to
// 1), spread evenly over kinds.
func NewProvider(next http.Handler, rate float64, kinds []Kind, seed uint64) *Provider {
	if len(kinds) == 0 {
		rate = 0
	}
	return &Provider{
		next: next, rate: rate, kinds: kinds,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		injected:  map[Kind]int{},
		ambiguous: map[int]int{},
	}
}

// SetFaults changes the share of calls to fail and the kinds to fail
// them with, from the next call on.
func (p *Provider) SetFaults(rate float64, kinds []Kind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(kinds) == 0 {
		rate = 0
	}
	p.rate, p.kinds = rate, kinds
}

// SetOutage fails the next n publish calls with 503: an outage longer
// than an invocation's retries, so the trigger's redelivery has work.
func (p *Provider) SetOutage(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outage = n
}

// Stats is what a Provider did.
type Stats struct {
	// Calls counts publish calls received.
	Calls int
	// Injected counts faults by kind.
	Injected map[Kind]int
	// Ambiguous maps each event serial carried by an ambiguous fault to how
	// many such faults carried it.
	Ambiguous map[int]int
	// Late counts calls forwarded although their client had already given
	// up: unintended ambiguity (a machine so loaded that the client's
	// timeout passed before the forward). Zero in a healthy run.
	Late int
}

// Stats returns the counts so far.
func (p *Provider) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Calls: p.calls, Injected: map[Kind]int{}, Ambiguous: map[int]int{}, Late: p.late}
	for k, v := range p.injected {
		s.Injected[k] = v
	}
	for k, v := range p.ambiguous {
		s.Ambiguous[k] = v
	}
	return s
}

func (p *Provider) pick() Kind {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.outage > 0 {
		p.outage--
		p.injected[Outage]++
		return Outage
	}
	if p.rng.Float64() >= p.rate {
		return None
	}
	k := p.kinds[p.turn%len(p.kinds)]
	p.turn++
	p.injected[k]++
	return k
}

func isPublish(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/apps/") &&
		(strings.HasSuffix(r.URL.Path, "/events") || strings.HasSuffix(r.URL.Path, "/batch_events"))
}

// ServeHTTP implements http.Handler.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isPublish(r) {
		p.next.ServeHTTP(w, r)
		return
	}
	k := p.pick()
	switch k {
	case Status500, Status429, Outage:
		status := map[Kind]int{Status500: http.StatusInternalServerError, Status429: http.StatusTooManyRequests, Outage: http.StatusServiceUnavailable}[k]
		http.Error(w, fmt.Sprintf("injected %d", status), status)
		return
	case Slow:
		// Read the body first: only then does the server watch the
		// connection and end r's context when the client gives up.
		io.Copy(io.Discard, r.Body)
		hold(r)
		return
	case Drop:
		drop(w)
		return
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		drop(w)
		return
	}
	if r.Context().Err() != nil {
		// The client gave up already; forwarding now would deliver events
		// it counts as failed.
		p.mu.Lock()
		p.late++
		p.mu.Unlock()
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	rec := httptest.NewRecorder()
	p.next.ServeHTTP(rec, r)
	if k.Ambiguous() && rec.Code == http.StatusOK {
		p.mu.Lock()
		for _, n := range Serials(body) {
			p.ambiguous[n]++
		}
		p.mu.Unlock()
		if k == AcceptedThenSlow {
			hold(r)
		} else {
			drop(w)
		}
		return
	}
	for h, v := range rec.Header() {
		w.Header()[h] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// hold waits until the client goes away (or maxHold), answering nothing.
func hold(r *http.Request) {
	t := time.NewTimer(maxHold)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Serials returns the event serials (Payload.N) a Pusher publish body
// carries: a trigger's one event or a batch's events.
func Serials(body []byte) []int {
	var req struct {
		Data  string `json:"data"`
		Batch []struct {
			Data string `json:"data"`
		} `json:"batch"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	datas := []string{req.Data}
	if req.Batch != nil {
		datas = datas[:0]
		for _, e := range req.Batch {
			datas = append(datas, e.Data)
		}
	}
	var out []int
	for _, d := range datas {
		var pl Payload
		if json.Unmarshal([]byte(d), &pl) == nil && pl.N > 0 {
			out = append(out, pl.N)
		}
	}
	return out
}

// Payload is the data of every event the suite broadcasts: N is the
// event's serial, from 1.
type Payload struct {
	N int `json:"n"`
}
