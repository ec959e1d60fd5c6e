package auth_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/shared/config"
)

// TestForbiddenDisclosesNothing: a 403 says "forbidden" and nothing of the
// rules (their indexes, patterns, evaluation errors); AUTH_DEBUG=true adds
// the deciding rule's name; the log has the whole reason either way.
func TestForbiddenDisclosesNothing(t *testing.T) {
	const rules = `
channels:
  - pattern: "team.{name}"
    allow: "name.matches('^secret-[a-z]+$') && user.groups.exists(g, g == name)"
  - pattern: "any.{x}"
    allow: "true"
    member: {id: "user.missing"}
user:
  id: "user.nope"
`
	tok := hsToken(t, claims("1", nil))
	for _, debug := range []string{"", "true"} {
		var logs bytes.Buffer
		h, err := auth.FromEnv(t.Context(), config.Map(env(map[string]string{auth.EnvChannels: rules, auth.EnvDebug: debug})),
			auth.Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, path, body, rule, logged string
		}{
			{"evaluation error", auth.PathAuth, form("socket_id", "1.1", "channel_name", "private-team.secret-ops"), `channels[0] ("team.{name}")`, "no such key"},
			{"no rule", auth.PathAuth, form("socket_id", "1.1", "channel_name", "private-unlisted"), "(no rule matches)", "no rule matches"},
			{"member error", auth.PathAuth, form("socket_id", "1.1", "channel_name", "presence-any.x"), `channels[1] ("any.{x}")`, "missing"},
			{"user error", auth.PathUserAuth, form("socket_id", "1.1"), "user", "nope"},
		} {
			t.Run(tc.name+" debug="+debug, func(t *testing.T) {
				logs.Reset()
				got := post(t, h, tc.path, formType, tc.body, tok)
				if got.status != 403 {
					t.Fatalf("status %d: %s", got.status, got.raw)
				}
				want := `{"error":"forbidden"}`
				if debug == "true" {
					want = `{"error":"forbidden","rule":` + jsonString(tc.rule) + `}`
				}
				if strings.TrimSpace(got.raw) != want {
					t.Errorf("answer %s, want %s", got.raw, want)
				}
				if !strings.Contains(logs.String(), tc.logged) {
					t.Errorf("the log lacks the reason (%q): %s", tc.logged, logs.String())
				}
			})
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestJWKSURLNeedsHTTPS: a plain-http JWKS URL off loopback stops the
// start-up, naming the variable.
func TestJWKSURLNeedsHTTPS(t *testing.T) {
	_, err := auth.FromEnv(t.Context(), config.Map(env(map[string]string{auth.EnvJWTSecret: "", auth.EnvJWKSURL: "http://idp.example.com/jwks"})), auth.Deps{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "https") || !strings.Contains(err.Error(), auth.EnvJWKSURL) {
		t.Errorf("FromEnv with a plain-http JWKS URL: %v, want an error naming %s and https", err, auth.EnvJWKSURL)
	}
}

// TestRulesMaxBytes: AUTH_RULES_MAX_BYTES bounds what a rule may
// allocate; a rule over it is refused (and logged), an ordinary one is
// not; a value outside the bounds stops the start-up.
func TestRulesMaxBytes(t *testing.T) {
	const rules = `
channels:
  - pattern: "big.{x}"
    allow: "user.sub.split('').map(c, user.sub).join().size() > 0"
  - pattern: "App.Models.User.{id}"
    allow: "user.sub == id"
`
	var logs bytes.Buffer
	h := newLoggingHandler(t, map[string]string{auth.EnvChannels: rules, auth.EnvRulesMaxBytes: "8192"}, slog.New(slog.NewTextHandler(&logs, nil)))
	tok := hsToken(t, claims(strings.Repeat("1", 100), nil)) // 100 x 100 bytes joined: 10 KB
	if got := post(t, h, auth.PathAuth, formType, form("socket_id", "1.1", "channel_name", "private-big.x"), tok); got.status != 403 || !strings.Contains(logs.String(), "memory limit") {
		t.Errorf("a rule over AUTH_RULES_MAX_BYTES: %d %s, logged %s", got.status, got.raw, logs.String())
	}
	if got := post(t, h, auth.PathAuth, formType, form("socket_id", "1.1", "channel_name", "private-App.Models.User."+strings.Repeat("1", 100)), tok); got.status != 200 {
		t.Errorf("an ordinary rule under AUTH_RULES_MAX_BYTES=8192: %d %s", got.status, got.raw)
	}
	// The default (1 MiB) lets the same rule through.
	if got := post(t, newHandler(t, map[string]string{auth.EnvChannels: rules}), auth.PathAuth, formType, form("socket_id", "1.1", "channel_name", "private-big.x"), tok); got.status != 200 {
		t.Errorf("10 KB under the default limit: %d %s", got.status, got.raw)
	}
	for _, v := range []string{"100", "1073741824", "-1", "lots"} {
		if _, err := auth.FromEnv(t.Context(), config.Map(env(map[string]string{auth.EnvRulesMaxBytes: v})), auth.Deps{Logger: quiet}); err == nil || !strings.Contains(err.Error(), auth.EnvRulesMaxBytes) {
			t.Errorf("%s=%s: %v, want an error naming it", auth.EnvRulesMaxBytes, v, err)
		}
	}
}
