package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// SentinelEvent is the event name Subscriber.Sync waits for; the suite
// triggers it on each channel after the last broadcast.
const SentinelEvent = "faults:sentinel"

// Subscriber is a WebSocket client speaking Pusher's protocol 7 to the
// local server, subscribed to public channels, counting the events it
// receives by serial. It is where the suite counts deliveries: what a
// browser would see, not what the provider was sent.
type Subscriber struct {
	ws *websocket.Conn

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every frame
	counts    map[int]int
	sentinels map[string]int
	err       error
	done      chan struct{}
}

type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// Subscribe connects to ws://addr/app/key and subscribes to channels,
// returning once every subscription succeeded. Close ends it.
func Subscribe(ctx context.Context, addr, key string, channels []string) (*Subscriber, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/app/"+key+"?protocol=7&client=herald-faults", nil)
	if err != nil {
		return nil, fmt.Errorf("faults: dial: %w", err)
	}
	ws.SetReadLimit(1 << 20)
	s := &Subscriber{ws: ws, changed: make(chan struct{}), counts: map[int]int{}, sentinels: map[string]int{}, done: make(chan struct{})}
	f, err := s.read(ctx)
	if err != nil || f.Event != "pusher:connection_established" {
		ws.CloseNow()
		return nil, fmt.Errorf("faults: first frame %q: %v", f.Event, err)
	}
	pending := map[string]bool{}
	for _, ch := range channels {
		msg, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": ch}})
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("faults: subscribe %s: %w", ch, err)
		}
		pending[ch] = true
	}
	for len(pending) > 0 {
		f, err := s.read(ctx)
		if err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("faults: awaiting subscriptions: %w", err)
		}
		switch f.Event {
		case "pusher_internal:subscription_succeeded":
			delete(pending, f.Channel)
		case "pusher:error":
			ws.CloseNow()
			return nil, fmt.Errorf("faults: subscription refused: %s", f.Data)
		}
	}
	go s.loop()
	return s, nil
}

func (s *Subscriber) read(ctx context.Context) (frame, error) {
	_, b, err := s.ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("frame %q: %w", b, err)
	}
	return f, nil
}

// loop counts events until the connection ends.
func (s *Subscriber) loop() {
	defer close(s.done)
	for {
		f, err := s.read(context.Background())
		s.mu.Lock()
		if err != nil {
			s.err = err
			close(s.changed)
			s.mu.Unlock()
			return
		}
		switch {
		case f.Event == SentinelEvent:
			s.sentinels[f.Channel]++
		case f.Event == "pusher:ping":
			go s.ws.Write(context.Background(), websocket.MessageText, []byte(`{"event":"pusher:pong","data":{}}`))
		case len(f.Event) > 0 && f.Event[0] != 'p': // not pusher: or pusher_internal:
			// Event data is a JSON string holding the payload.
			var data string
			var pl Payload
			if json.Unmarshal(f.Data, &data) == nil && json.Unmarshal([]byte(data), &pl) == nil && pl.N > 0 {
				s.counts[pl.N]++
			}
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
}

// Sync waits until a sentinel arrived on every channel (n of them in all
// per channel), so that every event broadcast before the sentinels were
// triggered has been counted: the server keeps each connection's frames
// in order.
func (s *Subscriber) Sync(ctx context.Context, channels []string, n int) error {
	for {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return fmt.Errorf("faults: subscriber connection ended: %w", err)
		}
		ok := true
		for _, ch := range channels {
			if s.sentinels[ch] < n {
				ok = false
			}
		}
		wait := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("faults: sentinels not received: %w", ctx.Err())
		}
	}
}

// Counts returns how often each serial was received.
func (s *Subscriber) Counts() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Close ends the connection and waits for the reader.
func (s *Subscriber) Close() {
	s.ws.CloseNow()
	<-s.done
}
