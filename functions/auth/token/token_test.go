package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/functions/auth/token"
)

const secret = "test-only-hs256-secret-0123456789abcdef"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// keys are generated once per test binary: RSA generation is slow.
var keys = sync.OnceValue(func() (k struct {
	rsa1, rsa2 *rsa.PrivateKey
	ec256      *ecdsa.PrivateKey
	ec384      *ecdsa.PrivateKey
}) {
	var err error
	if k.rsa1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	size := (k.Curve.Params().BitSize + 7) / 8
	x, y := make([]byte, size), make([]byte, size)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	return map[string]any{"kty": "EC", "kid": kid, "use": "sig", "crv": k.Curve.Params().Name, "x": b64(x), "y": b64(y)}
}

// jwksServer publishes a key set that a test can replace, and counts fetches.
type jwksServer struct {
	*httptest.Server
	body    atomic.Value // []byte
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, jwks ...map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, jwks...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.body.Load().([]byte))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t *testing.T, jwks ...map[string]any) {
	b, err := json.Marshal(map[string]any{"keys": jwks})
	if err != nil {
		t.Fatal(err)
	}
	s.body.Store(b)
}

func newVerifier(t *testing.T, c token.Config) *token.Verifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c.Logger = quiet
	v, err := token.New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": "42", "iss": "https://issuer.test/", "aud": "herald", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unsigned(c jwt.MapClaims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(c)
	return b64(h) + "." + b64(p) + "."
}

// tamper replaces the payload of a signed token, keeping its signature.
func tamper(tok string, c jwt.MapClaims) string {
	parts := strings.Split(tok, ".")
	p, _ := json.Marshal(c)
	return parts[0] + "." + b64(p) + "." + parts[2]
}

func TestVerify(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, rsaJWK("rsa1", &k.rsa1.PublicKey), ecJWK("ec1", &k.ec256.PublicKey))
	hs := newVerifier(t, token.Config{Secret: secret, Issuer: "https://issuer.test/", Audience: "herald"})
	jw := newVerifier(t, token.Config{JWKSURL: srv.URL, Issuer: "https://issuer.test/", Audience: "herald"})
	both := newVerifier(t, token.Config{Secret: secret, JWKSURL: srv.URL})

	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&k.rsa1.PublicKey))})
	hours := func(h int) int64 { return time.Now().Add(time.Duration(h) * time.Hour).Unix() }

	tests := []struct {
		name   string
		v      *token.Verifier
		tok    string
		reason string // "" means accepted
	}{
		{"HS256 good", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(nil)), ""},
		{"RS256 good", jw, sign(t, jwt.SigningMethodRS256, "rsa1", k.rsa1, claims(nil)), ""},
		{"ES256 good", jw, sign(t, jwt.SigningMethodES256, "ec1", k.ec256, claims(nil)), ""},
		{"RS256 without kid tries the RSA keys", jw, sign(t, jwt.SigningMethodRS256, "", k.rsa1, claims(nil)), ""},
		{"both: HS256 uses the secret", both, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(nil)), ""},
		{"both: RS256 uses the JWKS", both, sign(t, jwt.SigningMethodRS256, "rsa1", k.rsa1, claims(nil)), ""},
		{"no token", hs, "", "no token"},
		{"garbage", hs, "not.a.jwt", "malformed"},
		{"oversize", hs, strings.Repeat("a", token.MaxTokenLength+1), "longer than"},
		{"expired", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { c["exp"] = hours(-1) })), "expired"},
		{"within leeway", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-5 * time.Second).Unix() })), ""},
		{"no exp", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { delete(c, "exp") })), "required claim"},
		{"not yet valid", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { c["nbf"] = hours(1) })), "not valid yet"},
		{"issued in the future", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { c["iat"] = hours(1) })), "future"},
		{"wrong issuer", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.test/" })), "wrong issuer"},
		{"no issuer", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { delete(c, "iss") })), "required claim"},
		{"wrong audience", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { c["aud"] = "other" })), "wrong audience"},
		{"audience in a list", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c jwt.MapClaims) { c["aud"] = []string{"other", "herald"} })), ""},
		{"wrong secret", hs, sign(t, jwt.SigningMethodHS256, "", []byte(secret+"x"), claims(nil)), "signature invalid"},
		{"alg none", hs, unsigned(claims(nil)), "not accepted"},
		{"alg none against JWKS", jw, unsigned(claims(nil)), "not accepted"},
		{"HS256 signed with the RSA public key against a JWKS verifier", jw, sign(t, jwt.SigningMethodHS256, "rsa1", pubPEM, claims(nil)), "not accepted"},
		{"HS256 signed with the RSA public key against both", both, sign(t, jwt.SigningMethodHS256, "rsa1", pubPEM, claims(nil)), "signature invalid"},
		{"RS256 against an HS256-only verifier", hs, sign(t, jwt.SigningMethodRS256, "rsa1", k.rsa1, claims(nil)), "not accepted"},
		{"RS256 header on an EC key id", jw, sign(t, jwt.SigningMethodRS256, "ec1", k.rsa1, claims(nil)), "not accepted"},
		{"ES384 header on a P-256 key", jw, sign(t, jwt.SigningMethodES384, "ec1", k.ec384, claims(nil)), "not accepted"},
		{"tampered payload", jw, tamper(sign(t, jwt.SigningMethodRS256, "rsa1", k.rsa1, claims(nil)), claims(func(c jwt.MapClaims) { c["sub"] = "1" })), "signature invalid"},
		{"tampered HS256 payload", hs, tamper(sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(nil)), claims(func(c jwt.MapClaims) { c["sub"] = "1" })), "signature invalid"},
		{"signed by a key not in the set", jw, sign(t, jwt.SigningMethodRS256, "rsa1", k.rsa2, claims(nil)), "signature invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.v.Verify(context.Background(), tt.tok)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c["sub"] != "42" {
					t.Errorf("sub = %v", c["sub"])
				}
				return
			}
			var te *token.Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *token.Error", err)
			}
			if !strings.Contains(te.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", te.Reason, tt.reason)
			}
			if tt.tok != "" && strings.Contains(err.Error(), tt.tok) {
				t.Error("the error quotes the token")
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestJWKSRotation: keys are fetched once and cached; a token with a new
// key id makes the verifier refetch the set once, and a flood of made-up
// key ids does not make it fetch again.
func TestJWKSRotation(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, rsaJWK("old", &k.rsa1.PublicKey))
	v := newVerifier(t, token.Config{JWKSURL: srv.URL, JWKSUnknownKIDInterval: time.Hour})
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches after New = %d, want 1", n)
	}
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, "old", k.rsa1, claims(nil))); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("cached key refetched: %d fetches", n)
	}
	srv.set(t, rsaJWK("old", &k.rsa1.PublicKey), ecJWK("new", &k.ec256.PublicKey))
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "new", k.ec256, claims(nil))); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches after unknown kid = %d, want 2", n)
	}
	for i := 0; i < 5; i++ {
		_, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "bogus", k.ec256, claims(nil)))
		if err == nil {
			t.Fatal("unknown key id accepted")
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("made-up key ids caused %d fetches, want none beyond 2", n)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    token.Config
		want string
	}{
		{"nothing", token.Config{}, "no way to verify"},
		{"short secret", token.Config{Secret: "short"}, "at least 32"},
		{"bad url", token.Config{JWKSURL: "ftp://x/keys"}, "not an https URL"},
		// Keys fetched in the clear can be swapped on the way: anyone on
		// the path could then sign tokens for any user.
		{"plain http", token.Config{JWKSURL: "http://idp.example.com/.well-known/jwks.json"}, "must use https"},
		{"plain http to a name that merely starts like loopback", token.Config{JWKSURL: "http://127.0.0.1.nip.io/jwks"}, "must use https"},
		{"plain http on loopback", token.Config{JWKSURL: "http://127.0.0.1:8080/jwks"}, ""},
		{"plain http on localhost", token.Config{JWKSURL: "http://localhost:8080/jwks"}, ""},
		{"plain http on ::1", token.Config{JWKSURL: "http://[::1]:8080/jwks"}, ""},
		{"https", token.Config{JWKSURL: "https://idp.example.com/.well-known/jwks.json"}, ""},
		{"leeway", token.Config{Secret: secret, Leeway: time.Hour}, "leeway"},
		{"ok", token.Config{Secret: secret}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.c.Secret != "" && strings.Contains(err.Error(), tt.c.Secret) {
				t.Error("error echoes the secret")
			}
		})
	}
}

// The claims come back as JSON values (numbers as float64, objects as
// maps); a claim given twice, invalid UTF-8, a number out of float64's
// range or a payload that is not an object is a malformed token.
func TestVerifyDecodesClaims(t *testing.T) {
	hs := newVerifier(t, token.Config{Secret: secret})
	expAt := time.Now().Add(time.Hour).Unix()
	exp := strconv.FormatInt(expAt, 10)
	signRaw := func(payload string) string {
		h := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64([]byte(payload))
		sig, err := jwt.SigningMethodHS256.Sign(h, []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return h + "." + b64(sig)
	}
	tests := []struct {
		payload string
		want    map[string]any // nil: a malformed token
	}{
		{`{"sub":"42","exp":` + exp + `}`, map[string]any{"sub": "42", "exp": float64(expAt)}},
		{`{"sub":"Al\u00efce \ud83d\ude00","exp":` + exp + `,"name":"A \"quoted\" name","rooms":["lobby",{"id":7,"x":[]}],"n":null,"ok":true,"f":-1.5e3}`,
			map[string]any{"sub": "Alïce 😀", "exp": float64(expAt), "name": `A "quoted" name`, "rooms": []any{"lobby", map[string]any{"id": float64(7), "x": []any{}}}, "n": nil, "ok": true, "f": -1500.0}},
		{`{"exp":` + exp + `,"deep":[[[[[[[[[[]]]]]]]]]]}`, map[string]any{"exp": float64(expAt), "deep": []any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{}}}}}}}}}}}},
		{`{"sub":"1","sub":"2","exp":` + exp + `}`, nil},
		{"{\"sub\":\"\xff\",\"exp\":" + exp + "}", nil},
		{`{"exp":` + exp + `,"big":1e400}`, nil},
		{`["not","an","object"]`, nil},
	}
	for _, tt := range tests {
		got, err := hs.Verify(context.Background(), signRaw(tt.payload))
		switch {
		case tt.want == nil:
			if err == nil || !strings.Contains(err.Error(), "malformed") {
				t.Errorf("%s: Verify = %v, %v; want a malformed token", tt.payload, got, err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.payload, err)
		case !reflect.DeepEqual(got, tt.want):
			t.Errorf("%s: claims %#v, want %#v", tt.payload, got, tt.want)
		}
	}
}
