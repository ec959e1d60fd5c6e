package queue_test

import (
	"strings"
	"testing"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/shared/config"
)

func TestFromEnv(t *testing.T) {
	aws := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example-secret"}
	with := func(base map[string]string, kv ...string) config.Lookup {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return config.Map(m)
	}
	for _, c := range []struct {
		name    string
		env     config.Lookup
		err     string
		withDLQ bool
	}{
		{"null driver, no DLQ", with(nil), "", false},
		{"log driver with DLQ", with(aws, "BROADCAST_CONNECTION", "log", "BROADCAST_DLQ_URL", "http://127.0.0.1:1/000000000000/dlq"), "", true},
		{"DLQ without AWS settings", with(nil, "BROADCAST_DLQ_URL", "http://127.0.0.1:1/000000000000/dlq"), "BROADCAST_DLQ_URL: AWS_REGION is not set", false},
		{"bad driver settings", with(nil, "BROADCAST_CONNECTION", "pusher"), "PUSHER_APP_ID is empty", false},
		{"bad retry policy", with(nil, "BROADCAST_RETRY_MAX_ATTEMPTS", "many"), "BROADCAST_RETRY_MAX_ATTEMPTS", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := queue.FromEnv(t.Context(), c.env, queue.Deps{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", err, c.err)
				}
				if strings.Contains(err.Error(), "example-secret") {
					t.Fatal("error reveals a secret")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if core := h.Core(); core.Driver == nil || (core.DeadLetters != nil) != c.withDLQ {
				t.Fatalf("handler %+v, want dead letters %v", h, c.withDLQ)
			}
		})
	}
}
