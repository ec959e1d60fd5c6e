package auth_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/functions/auth/rules"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/signature"
)

// TestPusherVectors runs Pusher's published examples through the HTTP
// handler: the rules and the token produce exactly the example's member
// data, and the answers carry exactly the published signatures.
func TestPusherVectors(t *testing.T) {
	h := newHandler(t, nil)
	presenceTok := hsToken(t, claims("10", func(c jwt.MapClaims) { c["name"] = "Mr. Pusher" }))

	got := post(t, h, auth.PathAuth, formType, form("socket_id", "1234.1234", "channel_name", "private-foobar"), presenceTok)
	if got.status != 200 || got.body["auth"] != vectorKey+":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4" {
		t.Errorf("private-foobar: %d %s", got.status, got.raw)
	}
	if _, ok := got.body["channel_data"]; ok {
		t.Error("private channel answer carries channel_data")
	}

	got = post(t, h, auth.PathAuth, formType, form("socket_id", "1234.1234", "channel_name", "presence-foobar"), presenceTok)
	if got.status != 200 ||
		got.body["channel_data"] != `{"user_id":"10","user_info":{"name":"Mr. Pusher"}}` ||
		got.body["auth"] != vectorKey+":48dac51d2d7569e1e9c0f48c227d4b26f238fa68e5c0bb04222c966909c4f7c4" {
		t.Errorf("presence-foobar: %d %s", got.status, got.raw)
	}

	got = post(t, h, auth.PathUserAuth, formType, form("socket_id", "1234.1234"), hsToken(t, claims("12345", nil)))
	if got.status != 200 || got.body["user_data"] != `{"id":"12345"}` ||
		got.body["auth"] != vectorKey+":4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba" {
		t.Errorf("user auth: %d %s", got.status, got.raw)
	}
}

// TestJSONBody: Laravel Echo setups sometimes post JSON; the answer is the
// same as for the form.
func TestJSONBody(t *testing.T) {
	h := newHandler(t, nil)
	tok := hsToken(t, claims("10", nil))
	got := post(t, h, auth.PathAuth, "application/json; charset=utf-8", `{"socket_id":"1234.1234","channel_name":"private-foobar"}`, tok)
	if got.status != 200 || got.body["auth"] != vectorKey+":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4" {
		t.Errorf("%d %s", got.status, got.raw)
	}
}

// TestEncrypted: the shared secret is SHA-256 of the channel name and the
// master key; without a master key, or through Ably, the answer is a clear
// 400 and never a signature.
func TestEncrypted(t *testing.T) {
	master := []byte("0123456789abcdef0123456789abcdef")
	mk := base64.StdEncoding.EncodeToString(master)
	tok := hsToken(t, claims("1", nil))
	body := form("socket_id", "1.2", "channel_name", "private-encrypted-any.x")

	h := newHandler(t, map[string]string{auth.EnvMasterKey: mk})
	got := post(t, h, auth.PathAuth, formType, body, tok)
	if got.status != 200 {
		t.Fatalf("%d %s", got.status, got.raw)
	}
	if want := signature.SharedSecret("private-encrypted-any.x", master); got.body["shared_secret"] != want {
		t.Errorf("shared_secret %q, want %q", got.body["shared_secret"], want)
	}
	if want := signature.ChannelAuth(vectorKey, vectorSecret, "1.2", "private-encrypted-any.x", ""); got.body["auth"] != want {
		t.Errorf("auth %q, want %q", got.body["auth"], want)
	}

	got = post(t, newHandler(t, nil), auth.PathAuth, formType, body, tok)
	if got.status != 400 || !strings.Contains(got.body["error"], auth.EnvMasterKey) || got.body["auth"] != "" {
		t.Errorf("no master key: %d %s", got.status, got.raw)
	}

	ably := newHandler(t, map[string]string{auth.EnvConnection: "ably", auth.EnvAblyKey: "app1.key1:ablysecret", auth.EnvPusherKey: "", auth.EnvPusherSecret: ""})
	got = post(t, ably, auth.PathAuth, formType, body, tok)
	if got.status != 400 || !strings.Contains(got.body["error"], "Ably") {
		t.Errorf("ably encrypted: %d %s", got.status, got.raw)
	}
}

// TestAblySigning: through Ably's Pusher adapter the key is the API key's
// name and the secret the part after the colon.
func TestAblySigning(t *testing.T) {
	h := newHandler(t, map[string]string{auth.EnvConnection: "ably", auth.EnvAblyKey: "app1.key1:ablysecret", auth.EnvPusherKey: "", auth.EnvPusherSecret: ""})
	got := post(t, h, auth.PathAuth, formType, form("socket_id", "1.2", "channel_name", "private-foobar"), hsToken(t, claims("1", nil)))
	if want := signature.ChannelAuth("app1.key1", "ablysecret", "1.2", "private-foobar", ""); got.status != 200 || got.body["auth"] != want {
		t.Errorf("%d %s, want auth %s", got.status, got.raw, want)
	}
}

// TestDefaultRules: the shipped rules let each user into their own model
// channel and everyone signed in into presence-online.
func TestDefaultRules(t *testing.T) {
	h := newHandler(t, map[string]string{auth.EnvChannels: ""})
	alice := hsToken(t, claims("1", func(c jwt.MapClaims) { c["name"] = "Alice" }))
	bob := hsToken(t, claims("2", nil))
	tests := []struct {
		name, channel, tok string
		status             int
		channelData        string
	}{
		{"own model channel", "private-App.Models.User.1", alice, 200, ""},
		{"another user's model channel", "private-App.Models.User.2", alice, 403, ""},
		{"online with a name", "presence-online", alice, 200, `{"user_id":"1","user_info":{"name":"Alice"}}`},
		{"online without a name claim", "presence-online", bob, 200, `{"user_id":"2"}`},
		{"online is presence only", "private-online", alice, 403, ""},
		{"anything else", "private-chat", alice, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := post(t, h, auth.PathAuth, formType, form("socket_id", "1.1", "channel_name", tt.channel), tt.tok)
			if got.status != tt.status || got.body["channel_data"] != tt.channelData {
				t.Errorf("%d %s", got.status, got.raw)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	h := newHandler(t, nil)
	tok := hsToken(t, claims("10", nil))
	req := func(method, origin string) *http.Request {
		r := httptest.NewRequest(method, auth.PathAuth, strings.NewReader(form("socket_id", "1.1", "channel_name", "private-foobar")))
		r.Header.Set("Content-Type", formType)
		r.Header.Set("Authorization", "Bearer "+tok)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	got := serve(t, h, req(http.MethodPost, "https://app.example.test"))
	if got.header.Get("Access-Control-Allow-Origin") != "https://app.example.test" || got.header.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %v", got.header)
	}
	got = serve(t, h, req(http.MethodPost, "https://evil.example.test"))
	if got.header.Get("Access-Control-Allow-Origin") != "" || got.header.Get("Vary") != "Origin" {
		t.Errorf("other origin: %v", got.header)
	}
	pre := req(http.MethodOptions, "https://app.example.test")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	got = serve(t, h, pre)
	if got.status != 204 || !strings.Contains(got.header.Get("Access-Control-Allow-Headers"), "Authorization") || got.header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("preflight: %d %v", got.status, got.header)
	}
	// Refusals must be readable by the page too, or pusher-js only sees a
	// network error.
	r := req(http.MethodPost, "https://app.example.test")
	r.Header.Del("Authorization")
	got = serve(t, h, r)
	if got.status != 401 || got.header.Get("Access-Control-Allow-Origin") != "https://app.example.test" {
		t.Errorf("refusal: %d %v", got.status, got.header)
	}
	any := newHandler(t, map[string]string{auth.EnvCORSOrigins: "*"})
	if got := serve(t, any, req(http.MethodPost, "https://x.test")); got.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("wildcard: %v", got.header)
	}
}

// TestTrustAuthorizer: with AUTH_TRUST_AUTHORIZER the claims API Gateway's
// JWT authorizer verified are used; without it they are ignored.
func TestTrustAuthorizer(t *testing.T) {
	body := form("socket_id", "1.1", "channel_name", "private-App.Models.User.7")
	withClaims := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, auth.PathAuth, strings.NewReader(body))
		r.Header.Set("Content-Type", formType)
		return r.WithContext(httpapi.WithClaims(r.Context(), map[string]string{"sub": "7"}))
	}
	trusting := newHandler(t, map[string]string{auth.EnvTrustAuthorizer: "true", auth.EnvJWTSecret: "", auth.EnvJWTIssuer: "", auth.EnvJWTAudience: ""})
	if got := serve(t, trusting, withClaims()); got.status != 200 {
		t.Errorf("trusted claims: %d %s", got.status, got.raw)
	}
	if got := post(t, trusting, auth.PathAuth, formType, body, hsToken(t, claims("7", nil))); got.status != 401 {
		t.Errorf("authorizer-only function accepted a bearer token it cannot verify: %d %s", got.status, got.raw)
	}
	strict := newHandler(t, nil)
	if got := serve(t, strict, withClaims()); got.status != 401 {
		t.Errorf("untrusted claims were used: %d %s", got.status, got.raw)
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]string
		want  string // "" means valid
	}{
		{"valid", nil, ""},
		{"log driver with pusher creds", map[string]string{auth.EnvConnection: "log"}, ""},
		{"null driver without creds", map[string]string{auth.EnvConnection: "null", auth.EnvPusherKey: ""}, auth.EnvPusherKey},
		{"unknown driver", map[string]string{auth.EnvConnection: "redis"}, "want pusher, reverb, ably"},
		{"Laravel 10's BROADCAST_DRIVER", map[string]string{auth.EnvConnection: "", "BROADCAST_DRIVER": "redis"}, `BROADCAST_CONNECTION="redis"`},
		{"reverb without its credentials", map[string]string{auth.EnvConnection: "reverb"}, "REVERB_APP_KEY and REVERB_APP_SECRET"},
		{"reverb", map[string]string{auth.EnvConnection: "reverb", "REVERB_APP_KEY": "reverb-key", "REVERB_APP_SECRET": "reverb-secret"}, ""},
		{"ably key without secret", map[string]string{auth.EnvConnection: "ably", auth.EnvAblyKey: "app.key"}, auth.EnvAblyKey},
		{"no token verification", map[string]string{auth.EnvJWTSecret: ""}, "no way to verify"},
		{"short JWT secret", map[string]string{auth.EnvJWTSecret: "tooshort"}, "at least 32"},
		{"bad master key", map[string]string{auth.EnvMasterKey: "!!"}, "base64"},
		{"short master key", map[string]string{auth.EnvMasterKey: base64.StdEncoding.EncodeToString([]byte("short"))}, "want 32"},
		{"bad trust flag", map[string]string{auth.EnvTrustAuthorizer: "maybe"}, auth.EnvTrustAuthorizer},
		{"bad leeway", map[string]string{auth.EnvJWTLeeway: "soon"}, auth.EnvJWTLeeway},
		{"bad origin", map[string]string{auth.EnvCORSOrigins: "app.example.test"}, "not an origin"},
		{"both rule sources", map[string]string{auth.EnvChannelsFile: "testdata/channels.yaml"}, "not both"},
		{"missing rules file", map[string]string{auth.EnvChannels: "", auth.EnvChannelsFile: "testdata/nope.yaml"}, auth.EnvChannelsFile},
		{"rules file", map[string]string{auth.EnvChannels: "", auth.EnvChannelsFile: "testdata/channels.yaml"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.FromEnv(t.Context(), config.Map(env(tt.extra)), auth.Deps{Logger: quiet})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			for _, s := range []string{vectorSecret, jwtSecret, "tooshort"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error echoes a secret: %v", err)
				}
			}
		})
	}
}

// TestNewRejectsBadRules: a rule that does not compile stops start-up with
// a message naming it.
func TestNewRejectsBadRules(t *testing.T) {
	_, err := auth.FromEnv(t.Context(), config.Map(env(map[string]string{auth.EnvChannels: "channels:\n  - pattern: ok\n    allow: 'true'\n  - pattern: chat.{room}\n    allow: \"room in user.rooms &&\"\n"})), auth.Deps{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), `channels[1] ("chat.{room}")`) || !strings.Contains(err.Error(), "CHANNELS") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultRulesCompile(t *testing.T) {
	cfg, err := auth.LoadConfig(config.Map(env(map[string]string{auth.EnvChannels: ""})))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RulesSource != "embedded channels.yaml" || string(cfg.Rules) != string(auth.DefaultRules()) {
		t.Errorf("default rules not used: %s", cfg.RulesSource)
	}
}

// panicRules stands in for a rules engine with a bug.
type panicRules struct{}

func (panicRules) Authorize(context.Context, string, map[string]any) rules.Decision {
	panic("bug")
}
func (panicRules) User(context.Context, map[string]any) (rules.Member, error) { panic("bug") }

func TestPanicIsA500(t *testing.T) {
	h := auth.NewForTest(newHandler(t, nil), panicRules{})
	got := post(t, h, auth.PathAuth, formType, form("socket_id", "1.1", "channel_name", "private-foobar"), hsToken(t, claims("1", nil)))
	if got.status != 500 || got.body["auth"] != "" {
		t.Errorf("%d %s", got.status, got.raw)
	}
}
