package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// pusherAPI is a Pusher Channels HTTP API stand-in for the benchmark: it
// verifies each request's signature, answers trigger and batch_events calls
// after a fixed delay (the round trip to a hosted API) and counts what it
// was sent. Anything it cannot accept is refused with the status Pusher
// would use and counted as refused, never silently dropped.
type pusherAPI struct {
	appID, key, secret string
	delay              time.Duration
	counter
}

func newPusherAPI(appID, key, secret string, delay time.Duration) *pusherAPI {
	return &pusherAPI{appID: appID, key: key, secret: secret, delay: delay, counter: newCounter()}
}

// pusherEvent is one event of a batch_events body, and the shape of a
// trigger body with Channels instead of Channel.
type pusherEvent struct {
	Name     string   `json:"name"`
	Channel  string   `json:"channel"`
	Channels []string `json:"channels"`
	Data     *string  `json:"data"`
	SocketID string   `json:"socket_id"`
}

func (s *pusherAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The answer leaves delay after the request arrived, however long
	// checking it took: a hosted API's round trip does not grow with the
	// CPU this stand-in spends on the same machine as the client.
	arrived := time.Now()
	done := s.begin()
	defer done()
	prefix := "/apps/" + s.appID + "/"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) {
		s.refuse(w, http.StatusNotFound, "unknown endpoint %s %s", r.Method, r.URL.Path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "reading body: %v", err)
		return
	}
	secretFor := func(k string) (string, bool) { return s.secret, k == s.key }
	if err := signature.VerifyRequest(r.Method, r.URL.Path, r.URL.Query(), body, secretFor, time.Now()); err != nil {
		s.refuse(w, http.StatusUnauthorized, "%v", err)
		return
	}

	var deliveries []delivery
	switch strings.TrimPrefix(r.URL.Path, prefix) {
	case "events":
		var ev pusherEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			s.refuse(w, http.StatusBadRequest, "trigger body: %v", err)
			return
		}
		if ev.Channel != "" {
			ev.Channels = append(ev.Channels, ev.Channel)
		}
		if ev.Name == "" || ev.Data == nil || len(ev.Channels) == 0 || len(ev.Channels) > protocol.MaxChannelsPerTrigger {
			s.refuse(w, http.StatusBadRequest, "trigger needs name, data and 1-%d channels", protocol.MaxChannelsPerTrigger)
			return
		}
		for _, ch := range ev.Channels {
			deliveries = append(deliveries, delivery{channel: ch, name: ev.Name, data: *ev.Data})
		}
	case "batch_events":
		var b struct {
			Batch []pusherEvent `json:"batch"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			s.refuse(w, http.StatusBadRequest, "batch body: %v", err)
			return
		}
		if len(b.Batch) == 0 || len(b.Batch) > protocol.MaxBatchEvents {
			s.refuse(w, http.StatusBadRequest, "batch of %d events, the limit is %d", len(b.Batch), protocol.MaxBatchEvents)
			return
		}
		for i, ev := range b.Batch {
			if ev.Name == "" || ev.Channel == "" || ev.Data == nil {
				s.refuse(w, http.StatusBadRequest, "batch[%d] needs name, channel and data", i)
				return
			}
			deliveries = append(deliveries, delivery{channel: ev.Channel, name: ev.Name, data: *ev.Data})
		}
	default:
		s.refuse(w, http.StatusNotFound, "unknown endpoint %s", r.URL.Path)
		return
	}
	time.Sleep(time.Until(arrived.Add(s.delay)))
	s.accept(deliveries)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

func (s *pusherAPI) refuse(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.refused(msg)
	http.Error(w, msg, status)
}
