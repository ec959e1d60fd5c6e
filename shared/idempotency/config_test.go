package idempotency

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/config"
)

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "unset is off", env: nil, want: Config{}},
		{name: "table", env: map[string]string{"IDEMPOTENCY_TABLE": "herald-Idempotency-1A2B"}, want: Config{Table: "herald-Idempotency-1A2B"}},
		{name: "ttl and namespace", env: map[string]string{"IDEMPOTENCY_TABLE": "t.b_l-e", "IDEMPOTENCY_TTL": "90m", "IDEMPOTENCY_NAMESPACE": "prod"},
			want: Config{Table: "t.b_l-e", TTL: 90 * time.Minute, Namespace: "prod"}},
		{name: "bad ttl", env: map[string]string{"IDEMPOTENCY_TABLE": "tbl", "IDEMPOTENCY_TTL": "an hour"}, wantErr: `IDEMPOTENCY_TTL "an hour"`},
		{name: "sub-second ttl", env: map[string]string{"IDEMPOTENCY_TABLE": "tbl", "IDEMPOTENCY_TTL": "500ms"}, wantErr: "at least 1s"},
		{name: "negative ttl", env: map[string]string{"IDEMPOTENCY_TABLE": "tbl", "IDEMPOTENCY_TTL": "-1h"}, wantErr: "at least 1s"},
		{name: "table too short", env: map[string]string{"IDEMPOTENCY_TABLE": "ab"}, wantErr: "3 to 255"},
		{name: "table is an ARN", env: map[string]string{"IDEMPOTENCY_TABLE": "arn:aws:dynamodb:eu-west-1:123456789012:table/x"}, wantErr: `character ':'`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadConfig(config.Map(c.env))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Table != c.want.Table || got.TTL != c.want.TTL || got.Namespace != c.want.Namespace {
				t.Fatalf("config = %+v, want %+v", got, c.want)
			}
			if got.Enabled() != (c.want.Table != "") {
				t.Fatalf("Enabled() = %v", got.Enabled())
			}
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []Config{
		{Table: "tbl", Concurrency: -1},
		{Table: "tbl", MaxInProgress: -time.Second},
		{Table: "tbl", Namespace: strings.Repeat("n", 257)},
		{Table: strings.Repeat("t", 256)},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	// Limits on tuning fields apply only when the store is on.
	if err := (Config{Concurrency: -1}).Validate(); err != nil {
		t.Errorf("off config: %v", err)
	}
	d := Config{Table: "tbl"}.withDefaults()
	if d.TTL != DefaultTTL || d.Concurrency != DefaultConcurrency || d.MaxInProgress != DefaultMaxInProgress || d.Now == nil {
		t.Errorf("defaults = %+v", d)
	}
}
