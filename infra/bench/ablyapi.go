package main

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// ablyChannelsLimit is how many channels one batch publish request may
// name in all.
const ablyChannelsLimit = 100

// ablyAPI is an Ably REST stand-in for the benchmark: batch publish (POST
// /messages) and single-channel publish (POST /channels/{name}/messages)
// with HTTP basic auth, in JSON or MessagePack as ably-go sends them,
// answered after a fixed delay and counted.
type ablyAPI struct {
	keyName, keySecret string
	delay              time.Duration
	counter
}

func newAblyAPI(keyName, keySecret string, delay time.Duration) *ablyAPI {
	return &ablyAPI{keyName: keyName, keySecret: keySecret, delay: delay, counter: newCounter()}
}

// ablySpec is one BatchPublishSpec; channels may also be a single string.
type ablySpec struct {
	Channels any            `json:"channels" msgpack:"channels"`
	Messages any            `json:"messages" msgpack:"messages"`
	Message  map[string]any `json:"message" msgpack:"message"`
}

func (s *ablyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The answer leaves delay after the request arrived, however long
	// checking it took: a hosted API's round trip does not grow with the
	// CPU this stand-in spends on the same machine as the client.
	arrived := time.Now()
	done := s.begin()
	defer done()
	name, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(name), []byte(s.keyName)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.keySecret)) != 1 {
		s.refuse(w, r, http.StatusUnauthorized, 40101, "invalid credentials")
		return
	}
	if r.Method != http.MethodPost {
		s.refuse(w, r, http.StatusNotFound, 40400, "unknown endpoint %s %s", r.Method, r.URL.Path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, 40000, "reading body: %v", err)
		return
	}
	typ, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	unmarshal := json.Unmarshal
	if typ == "application/x-msgpack" {
		unmarshal = msgpack.Unmarshal
	}

	var deliveries []delivery
	var results []map[string]any
	switch {
	case r.URL.Path == "/messages":
		var specs []ablySpec
		if err := unmarshal(body, &specs); err != nil {
			var one ablySpec
			if err1 := unmarshal(body, &one); err1 != nil {
				s.refuse(w, r, http.StatusBadRequest, 40001, "batch body: %v", err)
				return
			}
			specs = []ablySpec{one}
		}
		total := 0
		for i, sp := range specs {
			chans := stringList(sp.Channels)
			msgs := messageList(sp.Messages)
			if sp.Message != nil {
				msgs = append(msgs, sp.Message)
			}
			if len(chans) == 0 || len(msgs) == 0 {
				s.refuse(w, r, http.StatusBadRequest, 40000, "batch spec %d needs channels and messages", i)
				return
			}
			total += len(chans)
			res := map[string]any{"successCount": len(chans), "failureCount": 0}
			var per []any
			for _, ch := range chans {
				for _, m := range msgs {
					deliveries = append(deliveries, delivery{channel: ch, name: str(m["name"]), data: str(m["data"])})
				}
				per = append(per, map[string]any{"channel": ch, "messageId": str(msgs[0]["id"])})
			}
			res["results"] = per
			results = append(results, res)
		}
		if total > ablyChannelsLimit {
			s.refuse(w, r, http.StatusBadRequest, 40000, "batch names %d channels, the limit is %d", total, ablyChannelsLimit)
			return
		}
	case strings.HasPrefix(r.URL.Path, "/channels/") && strings.HasSuffix(r.URL.Path, "/messages"):
		ch := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/channels/"), "/messages")
		var v any
		if err := unmarshal(body, &v); err != nil {
			s.refuse(w, r, http.StatusBadRequest, 40001, "publish body: %v", err)
			return
		}
		for _, m := range messageList(v) {
			deliveries = append(deliveries, delivery{channel: ch, name: str(m["name"]), data: str(m["data"])})
		}
		results = append(results, map[string]any{"channel": ch})
	default:
		s.refuse(w, r, http.StatusNotFound, 40400, "unknown endpoint %s", r.URL.Path)
		return
	}
	time.Sleep(time.Until(arrived.Add(s.delay)))
	s.accept(deliveries)
	var answer any = results
	if r.URL.Path != "/messages" {
		answer = results[0]
	}
	s.reply(w, r, http.StatusCreated, answer)
}

func (s *ablyAPI) refuse(w http.ResponseWriter, r *http.Request, status, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.refused(msg)
	w.Header().Set("X-Ably-Errorcode", strconv.Itoa(code))
	s.reply(w, r, status, map[string]any{"error": map[string]any{"message": msg, "code": code, "statusCode": status}})
}

// reply answers in MessagePack when the client accepts it, as Ably does.
func (s *ablyAPI) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	var body []byte
	if strings.Contains(r.Header.Get("Accept"), "application/x-msgpack") {
		body, _ = msgpack.Marshal(v)
		w.Header().Set("Content-Type", "application/x-msgpack")
	} else {
		body, _ = json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	w.Write(body)
}

// stringList reads a channel list: a string or an array of strings.
func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// messageList reads a message list: one message object or an array of them.
func messageList(v any) []map[string]any {
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, x := range t {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// str renders a decoded field as text: strings as they are, bytes
// (MessagePack binary data) as text, anything else as JSON.
func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case []byte:
		return string(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
