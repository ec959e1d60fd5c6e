package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/functions/auth"
)

// rsaIssuer is an identity provider publishing one RSA key as a JWKS.
type rsaIssuer struct {
	key    *rsa.PrivateKey
	url    string
	pubPEM []byte
}

func newRSAIssuer(t testing.TB) *rsaIssuer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
	}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	return &rsaIssuer{key: k, url: srv.URL, pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func (i *rsaIssuer) token(t testing.TB, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(i.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSecurity is the table of requests that must be refused, each with the
// status that tells the developer what happened, beside the requests that
// must pass so the table cannot pass by refusing everything.
func TestSecurity(t *testing.T) {
	idp := newRSAIssuer(t)
	var refusals bytes.Buffer // a 403 says only "forbidden"; its reason is logged
	hs := newLoggingHandler(t, nil, slog.New(slog.NewTextHandler(&refusals, nil)))
	rs := newHandler(t, map[string]string{auth.EnvJWTSecret: "", auth.EnvJWKSURL: idp.url})

	user1 := hsToken(t, claims("1", nil))
	hours := func(h int) int64 { return time.Now().Add(time.Duration(h) * time.Hour).Unix() }
	b64 := base64.RawURLEncoding.EncodeToString

	noneTok := func() string {
		h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
		p, _ := json.Marshal(claims("1", nil))
		return b64(h) + "." + b64(p) + "."
	}()
	// An HS256 token whose HMAC key is the RSA public key: the classic
	// algorithm confusion attack on verifiers that trust the header.
	confused := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("1", nil))
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(idp.pubPEM)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	tampered := func(tok string, sub string) string {
		parts := strings.Split(tok, ".")
		p, _ := json.Marshal(claims(sub, nil))
		return parts[0] + "." + b64(p) + "." + parts[2]
	}
	channelForm := func(ch string) string { return form("socket_id", "1234.1234", "channel_name", ch) }
	big := strings.Repeat("x", 2000)

	tests := []struct {
		name        string
		h           http.Handler
		path        string
		contentType string
		body        string
		tok         string
		status      int
		msg         string // substring of the error (of the logged reason for a 403)
	}{
		// Baselines: these must pass.
		{"baseline HS256", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), user1, 200, ""},
		{"baseline RS256 from the JWKS", rs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), idp.token(t, claims("1", nil)), 200, ""},
		{"baseline user sign-in", hs, auth.PathUserAuth, formType, form("socket_id", "1.1"), user1, 200, ""},

		// Who is asking.
		{"no token", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), "", 401, "no bearer token"},
		{"no token, user auth", hs, auth.PathUserAuth, formType, form("socket_id", "1.1"), "", 401, "no bearer token"},
		{"expired", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), hsToken(t, claims("1", func(c jwt.MapClaims) { c["exp"] = hours(-1) })), 401, "expired"},
		{"not yet valid", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), hsToken(t, claims("1", func(c jwt.MapClaims) { c["nbf"] = hours(1) })), 401, "not valid yet"},
		{"wrong issuer", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), hsToken(t, claims("1", func(c jwt.MapClaims) { c["iss"] = "https://evil.test/" })), 401, "wrong issuer"},
		{"wrong audience", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), hsToken(t, claims("1", func(c jwt.MapClaims) { c["aud"] = "someone-else" })), 401, "wrong audience"},
		{"alg none", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), noneTok, 401, "algorithm not accepted"},
		{"alg none against the JWKS", rs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), noneTok, 401, "algorithm not accepted"},
		{"HS256 token against an RS256 key", rs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), confused, 401, "algorithm not accepted"},
		{"tampered payload (HS256)", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.2"), tampered(user1, "2"), 401, "signature invalid"},
		{"tampered payload (RS256)", rs, auth.PathAuth, formType, channelForm("private-App.Models.User.2"), tampered(idp.token(t, claims("1", nil)), "2"), 401, "signature invalid"},
		{"token signed with another secret", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1"), func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("1", nil)).SignedString([]byte(jwtSecret + "!"))
			return s
		}(), 401, "signature invalid"},

		// What they may join.
		{"another user's channel", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.2"), user1, 403, "denies"},
		{"another user's presence channel", hs, auth.PathAuth, formType, channelForm("presence-App.Models.User.2"), user1, 403, "denies"},
		{"pattern must not match across dots", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1.2"), user1, 403, "no rule matches"},
		{"pattern is anchored", hs, auth.PathAuth, formType, channelForm("private-x.App.Models.User.1"), user1, 403, "no rule matches"},
		{"no rule", hs, auth.PathAuth, formType, channelForm("private-unlisted"), user1, 403, "no rule matches"},

		// What is signed.
		{"':' injected in socket_id", hs, auth.PathAuth, formType, form("socket_id", "1.1:private-App.Models.User.2", "channel_name", "private-App.Models.User.1"), user1, 400, "socket_id"},
		{"':' injected in channel_name", hs, auth.PathAuth, formType, channelForm("private-App.Models.User.1:{\"user_id\":\"2\"}"), user1, 400, "may contain only"},
		{"socket_id not digits", hs, auth.PathAuth, formType, form("socket_id", "1.1a", "channel_name", "private-foobar"), user1, 400, "socket_id"},
		{"socket_id with a newline", hs, auth.PathAuth, formType, form("socket_id", "1.1\n", "channel_name", "private-foobar"), user1, 400, "socket_id"},
		{"socket_id missing", hs, auth.PathAuth, formType, form("channel_name", "private-foobar"), user1, 400, "socket_id is missing"},
		{"channel_name missing", hs, auth.PathAuth, formType, form("socket_id", "1.1"), user1, 400, "channel_name is missing"},
		{"socket_id given twice", hs, auth.PathAuth, formType, "socket_id=1.1&socket_id=2.2&channel_name=private-foobar", user1, 400, "2 times"},
		{"channel_name given twice", hs, auth.PathAuth, formType, "socket_id=1.1&channel_name=private-App.Models.User.1&channel_name=private-App.Models.User.2", user1, 400, "2 times"},
		{"channel name too long", hs, auth.PathAuth, formType, channelForm("private-" + strings.Repeat("a", 200)), user1, 400, "limit is 164"},
		{"oversize member info", hs, auth.PathAuth, formType, channelForm("presence-any.x"), hsToken(t, claims("1", func(c jwt.MapClaims) { c["info"] = map[string]any{"bio": big} })), 403, "limit is 1024"},
		{"oversize member id", hs, auth.PathAuth, formType, channelForm("presence-any.x"), hsToken(t, claims(strings.Repeat("9", 129), nil)), 403, "limit is 128"},
		// 65 characters, 130 bytes: limits count bytes, as the local server
		// does, so nothing is signed that it would then refuse.
		{"oversize member id in bytes", hs, auth.PathAuth, formType, channelForm("presence-any.x"), hsToken(t, claims(strings.Repeat("é", 65), nil)), 403, "is 130 bytes, Pusher's limit is 128"},
		{"empty member id", hs, auth.PathAuth, formType, channelForm("presence-any.x"), hsToken(t, claims("", nil)), 403, "empty"},
		{"oversize sign-in id", hs, auth.PathUserAuth, formType, form("socket_id", "1.1"), hsToken(t, claims(strings.Repeat("9", 129), nil)), 403, "limit is 128"},
		{"sign-in id unusable in a user channel", hs, auth.PathUserAuth, formType, form("socket_id", "1.1"), hsToken(t, claims("a:b", nil)), 403, "user channel"},

		// Channels that need no or cannot have auth.
		{"public channel", hs, auth.PathAuth, formType, channelForm("App.Models.User.1"), user1, 400, "public channel"},
		{"unknown prefix", hs, auth.PathAuth, formType, channelForm("privat-App.Models.User.1"), user1, 400, "public channel"},
		{"user channel", hs, auth.PathAuth, formType, channelForm("#server-to-user-1"), user1, 400, "user channel"},
		{"bare prefix", hs, auth.PathAuth, formType, channelForm("private-"), user1, 400, "no name after its prefix"},

		// Malformed requests.
		{"bad JSON", hs, auth.PathAuth, "application/json", `{"socket_id":"1.1",`, user1, 400, "malformed JSON"},
		{"JSON number socket_id", hs, auth.PathAuth, "application/json", `{"socket_id":1.1,"channel_name":"private-foobar"}`, user1, 400, "JSON string"},
		{"JSON socket_id given twice", hs, auth.PathAuth, "application/json", `{"socket_id":"1.1","socket_id":"2.2","channel_name":"private-foobar"}`, user1, 400, "socket_id is given 2 times"},
		{"JSON with a second value", hs, auth.PathAuth, "application/json", `{"socket_id":"1.1","channel_name":"private-foobar"} {}`, user1, 400, "malformed JSON"},
		{"JSON array", hs, auth.PathAuth, "application/json", `["1.1","private-foobar"]`, user1, 400, "malformed JSON"},
		{"bad form", hs, auth.PathAuth, formType, "socket_id=%zz&channel_name=private-foobar", user1, 400, "malformed form"},
		{"unsupported content type", hs, auth.PathAuth, "text/plain", channelForm("private-foobar"), user1, 400, "unsupported Content-Type"},
		{"body over 16 KB", hs, auth.PathAuth, formType, channelForm("private-foobar") + "&pad=" + strings.Repeat("a", auth.MaxBodyBytes), user1, 413, "larger than"},
		{"unknown path", hs, "/broadcasting/other", formType, channelForm("private-foobar"), user1, 404, "no such endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refusals.Reset()
			got := post(t, tt.h, tt.path, tt.contentType, tt.body, tt.tok)
			if got.status != tt.status {
				t.Fatalf("status %d, want %d: %s", got.status, tt.status, got.raw)
			}
			if tt.status == 200 {
				if got.body["auth"] == "" {
					t.Fatalf("200 without auth: %s", got.raw)
				}
				return
			}
			if got.body["auth"] != "" || got.body["channel_data"] != "" || got.body["user_data"] != "" {
				t.Errorf("a refusal carries a signature: %s", got.raw)
			}
			switch {
			case got.status == 403:
				if got.body["error"] != "forbidden" || !strings.Contains(refusals.String(), tt.msg) {
					t.Errorf("403 %s, logged %q: want forbidden, and a reason containing %q in the log", got.raw, refusals.String(), tt.msg)
				}
			case !strings.Contains(got.body["error"], tt.msg):
				t.Errorf("error %q does not contain %q", got.body["error"], tt.msg)
			}
			if tt.tok != "" && strings.Contains(got.raw, tt.tok) {
				t.Error("the answer quotes the token")
			}
			if strings.Contains(got.raw, vectorSecret) || strings.Contains(got.raw, jwtSecret) {
				t.Error("the answer contains a secret")
			}
			if got.status == 401 && got.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestMethods: only POST signs; OPTIONS is a preflight.
func TestMethods(t *testing.T) {
	h := newHandler(t, nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		got := serve(t, h, httptest.NewRequest(m, auth.PathAuth, nil))
		if got.status != 405 || got.header.Get("Allow") != "POST, OPTIONS" {
			t.Errorf("%s: %d %v", m, got.status, got.header)
		}
	}
}

// TestReaderOverLimit: a body that announces no length is still cut at
// 16 KB.
func TestReaderOverLimit(t *testing.T) {
	h := newHandler(t, nil)
	r := httptest.NewRequest(http.MethodPost, auth.PathAuth, strings.NewReader(strings.Repeat("a", auth.MaxBodyBytes+10)))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer "+hsToken(t, claims("1", nil)))
	if got := serve(t, h, r.WithContext(context.Background())); got.status != 413 {
		t.Errorf("status %d", got.status)
	}
}
