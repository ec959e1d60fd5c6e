package retry

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/config"
)

func TestLoadPolicy(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want Policy
		err  string // substring of the error; empty means none
	}{
		{name: "unset keeps the defaults", env: map[string]string{}, want: Policy{}},
		{name: "all set", env: map[string]string{
			"BROADCAST_RETRY_BASE": "50ms", "BROADCAST_RETRY_CAP": "2s",
			"BROADCAST_RETRY_SAFETY_MARGIN": "1500ms", "BROADCAST_RETRY_MAX_ATTEMPTS": "3",
		}, want: Policy{Base: 50 * time.Millisecond, Cap: 2 * time.Second, SafetyMargin: 1500 * time.Millisecond, MaxAttempts: 3}},
		{name: "one attempt turns retries off", env: map[string]string{"BROADCAST_RETRY_MAX_ATTEMPTS": "1"}, want: Policy{MaxAttempts: 1}},
		{name: "not a duration", env: map[string]string{"BROADCAST_RETRY_BASE": "100"}, err: "BROADCAST_RETRY_BASE"},
		{name: "negative duration", env: map[string]string{"BROADCAST_RETRY_CAP": "-1s"}, err: "BROADCAST_RETRY_CAP"},
		{name: "zero duration", env: map[string]string{"BROADCAST_RETRY_BASE": "0s"}, err: "BROADCAST_RETRY_BASE"},
		{name: "zero attempts", env: map[string]string{"BROADCAST_RETRY_MAX_ATTEMPTS": "0"}, err: "BROADCAST_RETRY_MAX_ATTEMPTS"},
		{name: "not a count", env: map[string]string{"BROADCAST_RETRY_MAX_ATTEMPTS": "three"}, err: "BROADCAST_RETRY_MAX_ATTEMPTS"},
		{name: "cap below base", env: map[string]string{"BROADCAST_RETRY_BASE": "2s", "BROADCAST_RETRY_CAP": "1s"}, err: "below the base"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadPolicy(config.Map(c.env))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one naming %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("policy = %+v, want %+v", got, c.want)
			}
		})
	}
}
