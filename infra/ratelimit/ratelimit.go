package ratelimit

import (
	"bytes"
	"encoding/json/v2"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits configure a Handler. Zero rates are unlimited.
type Limits struct {
	// AppRate is the requests per second each app is admitted; AppBurst the
	// most admitted at once after a quiet spell (default one second's worth).
	AppRate, AppBurst float64
	// ChannelRate is the events per second each channel is admitted;
	// ChannelBurst as AppBurst.
	ChannelRate, ChannelBurst float64
	// Latency is how long after its arrival an admitted request is
	// answered: the round trip to a hosted API. Refusals are answered at
	// once, as a provider's edge does.
	Latency time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler is the rate-limited stand-in. Use Wrap.
type Handler struct {
	next   http.Handler
	limits Limits
	now    func() time.Time

	mu       sync.Mutex // guards the fields below
	apps     map[string]*Bucket
	channels map[string]*Bucket
	stats    Stats
	events   map[string]int
}

// Stats count what a Handler saw.
type Stats struct {
	// Requests is every trigger and batch_events request; Refused those
	// answered 429; Failed those the wrapped server answered with another
	// status than 2xx.
	Requests, Refused, Failed int
	// Events is the events of the accepted requests, one per channel
	// (a trigger to three channels is three events).
	Events int
	// First and Last are when the first request arrived and the last
	// accepted one was answered.
	First, Last time.Time
}

// Wrap returns next behind the limits.
func Wrap(next http.Handler, l Limits) *Handler {
	now := l.Now
	if now == nil {
		now = time.Now
	}
	return &Handler{next: next, limits: l, now: now, apps: map[string]*Bucket{}, channels: map[string]*Bucket{}, events: map[string]int{}}
}

// apiEvent is what a trigger (Channels) or one batch_events entry (Channel)
// names, as Pusher's HTTP API carries it.
type apiEvent struct {
	Name     string   `json:"name"`
	Channel  string   `json:"channel"`
	Channels []string `json:"channels"`
	Data     string   `json:"data"`
}

// published parses the events a publishing request carries. ok is false
// for any other request, which is not limited.
func published(r *http.Request, body []byte) (app string, evs []apiEvent, ok bool, err error) {
	rest, found := strings.CutPrefix(r.URL.Path, "/apps/")
	if !found || r.Method != http.MethodPost {
		return "", nil, false, nil
	}
	app, op, _ := strings.Cut(rest, "/")
	switch op {
	case "events":
		var ev apiEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			return app, nil, true, fmt.Errorf("trigger body: %w", err)
		}
		if ev.Channel != "" {
			ev.Channels = append(ev.Channels, ev.Channel)
		}
		return app, []apiEvent{ev}, true, nil
	case "batch_events":
		var b struct {
			Batch []apiEvent `json:"batch"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return app, nil, true, fmt.Errorf("batch_events body: %w", err)
		}
		for i := range b.Batch {
			b.Batch[i].Channels = []string{b.Batch[i].Channel}
		}
		return app, b.Batch, true, nil
	}
	return "", nil, false, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := h.now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "reading request body failed", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	app, evs, limited, err := published(r, body)
	if !limited {
		h.next.ServeHTTP(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if wait := h.admit(arrived, app, evs); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter(wait)))
		http.Error(w, "Too many requests", http.StatusTooManyRequests)
		return
	}
	if d := h.limits.Latency - h.now().Sub(arrived); d > 0 {
		time.Sleep(d)
	}
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h.next.ServeHTTP(rec, r)
	h.settle(app, evs, rec.status)
}

// admit takes the tokens of one request at now and returns 0, or takes
// none and returns how long until all of them would be there.
func (h *Handler) admit(now time.Time, app string, evs []apiEvent) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Requests++
	if h.stats.First.IsZero() {
		h.stats.First = now
	}
	appB := h.bucket(h.apps, app, h.limits.AppRate, h.limits.AppBurst)
	wait := appB.Wait(now, 1)
	perChannel := map[string]float64{}
	for _, ev := range evs {
		for _, ch := range ev.Channels {
			perChannel[ch]++
		}
	}
	for ch, n := range perChannel {
		b := h.bucket(h.channels, app+"/"+ch, h.limits.ChannelRate, h.limits.ChannelBurst)
		wait = max(wait, b.Wait(now, n))
	}
	if wait > 0 {
		h.stats.Refused++
		return wait
	}
	appB.Take(now, 1)
	for ch, n := range perChannel {
		h.channels[app+"/"+ch].Take(now, n)
	}
	return 0
}

func (h *Handler) bucket(in map[string]*Bucket, key string, rate, burst float64) *Bucket {
	b := in[key]
	if b == nil {
		b = NewBucket(rate, burst)
		in[key] = b
	}
	return b
}

// settle counts the events of an answered request.
func (h *Handler) settle(app string, evs []apiEvent, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if status < 200 || status > 299 {
		h.stats.Failed++
		return
	}
	h.stats.Last = h.now()
	for _, ev := range evs {
		for _, ch := range ev.Channels {
			h.stats.Events++
			h.events[app+"\x00"+ch+"\x00"+ev.Name+"\x00"+ev.Data]++
		}
	}
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Delivered reports how many times the event name with data was accepted
// on channel of app.
func (h *Handler) Delivered(app, channel, name, data string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[app+"\x00"+channel+"\x00"+name+"\x00"+data]
}

// Duplicates is how many accepted events repeated one accepted before.
func (h *Handler) Duplicates() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.events {
		n += c - 1
	}
	return n
}

// statusWriter keeps the status the wrapped server answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
