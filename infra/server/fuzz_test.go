package server

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDispatch feeds arbitrary frames to a connection's dispatch, the code
// every client byte reaches: decoding, subscription checks, presence,
// client events and sign-in. Input lines are separate frames, so the
// fuzzer can build sequences (subscribe, then send a client event). The
// connection's socket id is Pusher's example 1234.1234 and the app uses
// Pusher's example key and secret, so the seed corpus under
// testdata/fuzz/FuzzDispatch carries valid signatures to mutate.
//
// Checked after every input: no panic, every queued frame is a JSON event,
// presence bookkeeping agrees with the subscriber sets, and removing the
// connection leaves nothing of it in the hub.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"pusher:subscribe","data":{"channel":"news"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"private-foobar","auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}}` + "\n" +
			`{"event":"client-x","channel":"private-foobar","data":{"a":1}}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"278d425bdf160c739803:afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c","channel_data":"{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Pusher\"}}"}}` + "\n" +
			`{"event":"client-x","channel":"presence-foobar","data":"s"}` + "\n" +
			`{"event":"pusher:unsubscribe","data":{"channel":"presence-foobar"}}`,
		`{"event":"pusher:signin","data":{"auth":"278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba","user_data":"{\"id\":\"12345\"}"}}` + "\n" +
			`{"event":"pusher:subscribe","data":{"channel":"#server-to-user-12345"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"private-encrypted-x\",\"auth\":\"278d425bdf160c739803:00\"}"}`,
		`{"event":"client-x","channel":"news","data":null}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"x","channel_data":"[]"}}`,
		`not json`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	s, err := New(Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}, MaxPresenceMembers: 3, SendQueue: 64})
	if err != nil {
		f.Fatal(err)
	}
	h := s.byID[testAppID]
	// A peer subscribed to the seeds' channels, so relays and member
	// events have somewhere to go.
	peer := newConn(s, h, nil, "1.1", nil)
	h.add(peer)
	for _, ch := range []string{"news", "private-foobar", "private-encrypted-x"} {
		h.subscribe(peer, ch, nil)
	}
	h.subscribe(peer, "presence-foobar", &presenceMember{UserID: "peer"})

	f.Fuzz(func(t *testing.T, input []byte) {
		c := newConn(s, h, nil, "1234.1234", nil)
		if !h.add(c) {
			t.Fatal("socket id taken: a previous input's connection was not removed")
		}
		for _, line := range bytes.Split(input, []byte("\n")) {
			c.dispatch(line)
		}
		checkHub(t, h)
		h.remove(c)
		checkHub(t, h)
		for name, ch := range h.channels {
			if _, ok := ch.subs[c]; ok {
				t.Fatalf("removed connection still subscribed to %q", name)
			}
		}
		for _, q := range []*conn{c, peer} {
			drainFrames(t, q)
		}
	})
}

// checkHub verifies the hub's invariants: occupied channels have
// subscribers, and on presence channels the members' connection counts add
// up to the subscribers.
func checkHub(t *testing.T, h *hub) {
	t.Helper()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for name, ch := range h.channels {
		if len(ch.subs) == 0 {
			t.Fatalf("channel %q kept with no subscribers", name)
		}
		if ch.members == nil {
			continue
		}
		total := 0
		for id, m := range ch.members {
			if m.conns <= 0 {
				t.Fatalf("member %q of %q has %d connections", id, name, m.conns)
			}
			total += m.conns
		}
		if total != len(ch.subs) {
			t.Fatalf("%q: members count %d connections, %d subscribed", name, total, len(ch.subs))
		}
		if len(ch.members) > h.cfg.MaxPresenceMembers {
			t.Fatalf("%q: %d members over the limit", name, len(ch.members))
		}
	}
}

func drainFrames(t *testing.T, c *conn) {
	t.Helper()
	for {
		select {
		case b := <-c.send:
			var f struct {
				Event string `json:"event"`
			}
			if err := json.Unmarshal(b, &f); err != nil || f.Event == "" {
				t.Fatalf("queued frame is not a JSON event: %q", b)
			}
		default:
			return
		}
	}
}
