package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/shared/lambdamain"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/metrics/metricstest"
)

// The AuthFunction, instrumented as its bootstrap serves it, counts each
// grant and each refusal by class in its invocation's EMF document.
func TestMetricsOfAuthDecisions(t *testing.T) {
	var out bytes.Buffer
	fn := lambdamain.Instrument("auth", localHandler(t, nil),
		&metrics.Emitter{Namespace: "herald", Function: "auth", Driver: "pusher", Out: &out}, nil)
	withHeader := func(name, k, v string) []byte {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(readSample(t, name), &ev); err != nil {
			t.Fatal(err)
		}
		if k == "" {
			delete(ev.Headers, "authorization")
		} else {
			ev.Headers[k] = v
		}
		b, _ := json.Marshal(ev)
		return b
	}
	otherUser := func() []byte {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(readSample(t, "http-auth-private.json"), &ev); err != nil {
			t.Fatal(err)
		}
		ev.Body, ev.IsBase64Encoded = "socket_id=123456.654321&channel_name=private-App.Models.User.7", false
		b, _ := json.Marshal(ev)
		return b
	}
	cases := []struct {
		name  string
		event []byte
		want  map[string]float64
	}{
		{"granted", readSample(t, "http-auth-private.json"), map[string]float64{"AuthGranted": 1, "AuthDenied": 0}},
		{"no token", withHeader("http-auth-private.json", "", ""), map[string]float64{"AuthGranted": 0, "AuthDenied": 1, "AuthDeniedUnauthenticated": 1}},
		{"bad token", withHeader("http-auth-private.json", "authorization", "Bearer not-a-jwt"), map[string]float64{"AuthDenied": 1, "AuthDeniedUnauthenticated": 1}},
		{"another user's channel", otherUser(), map[string]float64{"AuthGranted": 0, "AuthDenied": 1, "AuthDeniedForbidden": 1}},
		{"user sign-in", readSample(t, "http-auth-user.json"), map[string]float64{"AuthGranted": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out.Reset()
			if _, err := fn.Invoke(context.Background(), c.event); err != nil {
				t.Fatal(err)
			}
			doc := metricstest.One(t, out.Bytes())
			if doc.Dimensions["Function"] != "auth" {
				t.Errorf("dimensions %v", doc.Dimensions)
			}
			for name, want := range c.want {
				if got := doc.Sum(name); got != want {
					t.Errorf("%s = %v, want %v\n%s", name, got, want, out.Bytes())
				}
			}
		})
	}
}
