package auth_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/signature"
)

// The sample events carry HS256 tokens signed with the local stack's
// development secret (valid until 2100) and ask as Alice, user 42.
const (
	localKey       = "local-key"
	localSecret    = "local-secret"
	localJWTSecret = "herald-local-jwt-secret-for-development-only"
)

func localHandler(t *testing.T, extra map[string]string) lambda.Handler {
	t.Helper()
	m := map[string]string{
		auth.EnvConnection:   "pusher",
		auth.EnvPusherKey:    localKey,
		auth.EnvPusherSecret: localSecret,
		auth.EnvJWTSecret:    localJWTSecret,
		auth.EnvCORSOrigins:  "http://localhost:5173",
	}
	for k, v := range extra {
		m[k] = v
	}
	h, err := auth.FromEnv(t.Context(), config.Map(m), auth.Deps{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return lambda.NewHandler(httpapi.Handler(h))
}

func readSample(t *testing.T, name string) []byte { return readSampleB(t, name) }

func readSampleB(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "events", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func invoke(t *testing.T, h lambda.Handler, event []byte) (events.APIGatewayV2HTTPResponse, map[string]string) {
	t.Helper()
	out, err := h.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return resp, body
}

// TestLambdaSamples drives the sample HTTP API events through the Lambda
// JSON path (lambda.NewHandler(...).Invoke) with the default rules, and
// checks the signatures against shared/signature computed here.
func TestLambdaSamples(t *testing.T) {
	const socket = "123456.654321"
	alice := `{"user_id":"42","user_info":{"name":"Alice"}}`
	tests := []struct {
		sample             string
		extra              map[string]string
		wantAuth, wantData string
		dataField          string
	}{
		{"http-auth-private.json", nil, signature.ChannelAuth(localKey, localSecret, socket, "private-App.Models.User.42", ""), "", ""},
		{"http-auth-presence.json", nil, signature.ChannelAuth(localKey, localSecret, socket, "presence-online", alice), alice, "channel_data"},
		{"http-auth-user.json", nil, signature.UserAuth(localKey, localSecret, socket, `{"id":"42"}`), `{"id":"42"}`, "user_data"},
		{"http-auth-authorizer.json", map[string]string{auth.EnvTrustAuthorizer: "true"}, signature.ChannelAuth(localKey, localSecret, socket, "presence-online", alice), alice, "channel_data"},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			resp, body := invoke(t, localHandler(t, tt.extra), readSample(t, tt.sample))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if body["auth"] != tt.wantAuth {
				t.Errorf("auth %q, want %q", body["auth"], tt.wantAuth)
			}
			if tt.dataField != "" && body[tt.dataField] != tt.wantData {
				t.Errorf("%s %q, want %q", tt.dataField, body[tt.dataField], tt.wantData)
			}
			if resp.Headers["Access-Control-Allow-Origin"] != "http://localhost:5173" || resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("headers %v", resp.Headers)
			}
		})
	}
}

// TestLambdaRefusals: the same events, changed the way an attacker would,
// are refused through the Lambda path too.
func TestLambdaRefusals(t *testing.T) {
	edit := func(name string, f func(*events.APIGatewayV2HTTPRequest)) []byte {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(readSample(t, name), &ev); err != nil {
			t.Fatal(err)
		}
		f(&ev)
		b, _ := json.Marshal(ev)
		return b
	}
	tests := []struct {
		name   string
		extra  map[string]string
		event  []byte
		status int
	}{
		{"no authorization header", nil, edit("http-auth-private.json", func(ev *events.APIGatewayV2HTTPRequest) { delete(ev.Headers, "authorization") }), 401},
		{"another user's channel", nil, edit("http-auth-private.json", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.IsBase64Encoded = false
			ev.Body = "socket_id=123456.654321&channel_name=private-App.Models.User.43"
		}), 403},
		{"authorizer claims not trusted by default", nil, readSample(t, "http-auth-authorizer.json"), 401},
		{"body is not base64", nil, edit("http-auth-private.json", func(ev *events.APIGatewayV2HTTPRequest) { ev.Body = "%%%" }), 400},
		{"wrong JWT secret", map[string]string{auth.EnvJWTSecret: localJWTSecret + "-rotated"}, readSample(t, "http-auth-private.json"), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := localHandler(t, tt.extra).Invoke(context.Background(), tt.event)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
		})
	}
}
