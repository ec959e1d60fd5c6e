package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// PusherAPI is a stand-in for the Pusher Channels HTTP API on loopback: it
// verifies request signing as Pusher does, enforces Pusher's limits (10
// events per batch_events, 100 channels per trigger, 10 KB data), records
// what it accepted in order, and answers with whatever faults a test
// programs per request.
type PusherAPI struct {
	AppID, Key, Secret string
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// MaxDataBytes is the data limit enforced with 413; default 10,240.
	MaxDataBytes int

	srv *httptest.Server

	mu       sync.Mutex
	requests []PusherRequest
	events   []PusherEvent
	fault    func(PusherRequest) Fault
	now      func() time.Time
}

// PusherEvent is one event the stand-in accepted.
type PusherEvent struct {
	Name     string
	Channels []string
	Data     string
	SocketID string
	// Request is the index, in Requests, of the call that carried it.
	Request int
}

// PusherRequest is one call the stand-in received.
type PusherRequest struct {
	// N counts calls from 0 in arrival order.
	N int
	// Path is "/apps/{id}/events" or "/apps/{id}/batch_events".
	Path string
	// Batch reports a batch_events call.
	Batch bool
	// Events are the events the call carried (before any fault).
	Events []PusherEvent
	// Status is what the stand-in answered.
	Status int
}

// Fault is what to do with one request instead of accepting it.
type Fault struct {
	// Status, when not 0, is answered instead of 200; nothing is recorded
	// as accepted.
	Status int
	// Body is the error body; default a short text.
	Body string
	// Delay is waited before answering (bounded by the client going away).
	Delay time.Duration
	// Drop closes the connection without an answer.
	Drop bool
}

// NewPusherAPI starts a stand-in for app id, key and secret, stopped when
// the test ends.
func NewPusherAPI(t testing.TB, appID, key, secret string) *PusherAPI {
	t.Helper()
	p := &PusherAPI{AppID: appID, Key: key, Secret: secret, MaxDataBytes: protocol.MaxDataBytes, now: time.Now}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// Host returns the stand-in's host (127.0.0.1).
func (p *PusherAPI) Host() string {
	h, _, _ := net.SplitHostPort(strings.TrimPrefix(p.URL, "http://"))
	return h
}

// Port returns the stand-in's port.
func (p *PusherAPI) Port() int {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.URL, "http://"))
	n, _ := strconv.Atoi(port)
	return n
}

// SetFault programs the answer to every following request: f sees each
// request (its number and events) and returns the fault to apply, or the
// zero Fault to accept it. nil accepts everything.
func (p *PusherAPI) SetFault(f func(PusherRequest) Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// FailChannel returns a fault function failing, with status, every request
// that carries an event on channel.
func FailChannel(channel string, status int) func(PusherRequest) Fault {
	return func(r PusherRequest) Fault {
		for _, e := range r.Events {
			for _, c := range e.Channels {
				if c == channel {
					return Fault{Status: status}
				}
			}
		}
		return Fault{}
	}
}

// Events returns the accepted events in the order they were accepted.
func (p *PusherAPI) Events() []PusherEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PusherEvent(nil), p.events...)
}

// Requests returns every call received, in arrival order.
func (p *PusherAPI) Requests() []PusherRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PusherRequest(nil), p.requests...)
}

// Reset forgets recorded requests and events.
func (p *PusherAPI) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests, p.events = nil, nil
}

type pusherWireEvent struct {
	Name     string   `json:"name"`
	Channel  string   `json:"channel"`
	Channels []string `json:"channels"`
	Data     string   `json:"data"`
	SocketID string   `json:"socket_id"`
	Info     string   `json:"info"`
}

func (p *PusherAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	prefix := "/apps/" + p.AppID + "/"
	route, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || r.Method != http.MethodPost || (route != "events" && route != "batch_events") {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	secretFor := func(k string) (string, bool) { return p.Secret, k == p.Key }
	if err := signature.VerifyRequest(r.Method, r.URL.Path, r.URL.Query(), body, secretFor, p.now()); err != nil {
		http.Error(w, "Unauthorized: "+err.Error(), http.StatusUnauthorized)
		return
	}
	req := PusherRequest{Path: r.URL.Path, Batch: route == "batch_events"}
	status, msg := p.parse(body, &req)

	p.mu.Lock()
	req.N = len(p.requests)
	for i := range req.Events {
		req.Events[i].Request = req.N
	}
	var f Fault
	if p.fault != nil && status == http.StatusOK {
		f = p.fault(req)
	}
	if f.Status != 0 {
		status, msg = f.Status, f.Body
		if msg == "" {
			msg = fmt.Sprintf("injected %d", f.Status)
		}
	}
	req.Status = status
	if f.Drop {
		req.Status = 0
	}
	p.requests = append(p.requests, req)
	if status == http.StatusOK && !f.Drop {
		p.events = append(p.events, req.Events...)
	}
	p.mu.Unlock()

	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

// parse reads a trigger or batch body into req.Events and returns the
// status Pusher would answer.
func (p *PusherAPI) parse(body []byte, req *PusherRequest) (int, string) {
	var list []pusherWireEvent
	if req.Batch {
		var b struct {
			Batch []pusherWireEvent `json:"batch"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return http.StatusBadRequest, "Invalid JSON"
		}
		if len(b.Batch) > protocol.MaxBatchEvents {
			return http.StatusBadRequest, fmt.Sprintf("Batch too large: %d events, the limit is %d", len(b.Batch), protocol.MaxBatchEvents)
		}
		list = b.Batch
	} else {
		var e pusherWireEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return http.StatusBadRequest, "Invalid JSON"
		}
		list = []pusherWireEvent{e}
	}
	for _, e := range list {
		chans := e.Channels
		if e.Channel != "" {
			chans = append([]string{e.Channel}, chans...)
		}
		switch {
		case e.Name == "":
			return http.StatusBadRequest, "Missing event name"
		case len(chans) == 0:
			return http.StatusBadRequest, "Missing channels"
		case len(chans) > protocol.MaxChannelsPerTrigger:
			return http.StatusBadRequest, "Too many channels"
		case len(e.Data) > p.MaxDataBytes:
			return http.StatusRequestEntityTooLarge, "Request Entity Too Large"
		}
		req.Events = append(req.Events, PusherEvent{Name: e.Name, Channels: chans, Data: e.Data, SocketID: e.SocketID})
	}
	return http.StatusOK, ""
}
