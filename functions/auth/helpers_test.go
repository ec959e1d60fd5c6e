package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/shared/config"
)

// Pusher's published example credentials (test-only).
const (
	vectorKey    = "278d425bdf160c739803"
	vectorSecret = "7ad3773142a6692b25b8"
	jwtSecret    = "test-only-hs256-secret-0123456789abcdef"
	issuer       = "https://issuer.test/"
	audience     = "herald"
)

// vectorRules let anyone signed in join the channels of Pusher's examples,
// with the member Pusher's presence example describes.
const vectorRules = `
channels:
  - pattern: "foobar"
    allow: "true"
    member: {id: "user.sub", info: "{'name': user.name}"}
  - pattern: "App.Models.User.{id}"
    allow: "user.sub == id"
  - pattern: "any.{x}"
    allow: "true"
    member: {id: "user.sub", info: "has(user.info) ? user.info : {}"}
user:
  id: "user.sub"
`

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is a working configuration; each entry of extra replaces or, when
// empty, removes one variable.
func env(extra map[string]string) map[string]string {
	m := map[string]string{
		auth.EnvConnection:   "pusher",
		auth.EnvPusherKey:    vectorKey,
		auth.EnvPusherSecret: vectorSecret,
		auth.EnvJWTSecret:    jwtSecret,
		auth.EnvJWTIssuer:    issuer,
		auth.EnvJWTAudience:  audience,
		auth.EnvChannels:     vectorRules,
		auth.EnvCORSOrigins:  "https://app.example.test",
	}
	for k, v := range extra {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func newHandler(t testing.TB, extra map[string]string) *auth.Handler {
	t.Helper()
	return newLoggingHandler(t, extra, quiet)
}

// newLoggingHandler is newHandler logging to log.
func newLoggingHandler(t testing.TB, extra map[string]string, log *slog.Logger) *auth.Handler {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h, err := auth.FromEnv(ctx, config.Map(env(extra)), auth.Deps{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func claims(sub string, mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": sub, "iss": issuer, "aud": audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func hsToken(t testing.TB, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

type reply struct {
	status int
	header http.Header
	body   map[string]string
	raw    string
}

// post sends body to path with a form content type (as pusher-js does) and
// the given bearer token ("" for none).
func post(t testing.TB, h http.Handler, path, contentType, body, tok string) reply {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return serve(t, h, r)
}

func serve(t testing.TB, h http.Handler, r *http.Request) reply {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	out := reply{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out.body); err != nil {
			t.Fatalf("answer is not a JSON object of strings: %v: %s", err, w.Body.String())
		}
	}
	return out
}

const formType = "application/x-www-form-urlencoded"
