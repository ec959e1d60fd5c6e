package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/heraldrt/herald/shared/httpapi"
)

// Config says how tokens are verified. At least one of Secret and JWKSURL
// must be set; with both, HS256 tokens are checked against Secret and the
// others against the JWKS.
type Config struct {
	// Secret verifies HS256 tokens. At least 32 bytes (RFC 7518 3.2).
	Secret string
	// JWKSURL is where the public keys of RS*/ES* tokens are published
	// (Cognito, Auth0, Clerk and the like).
	JWKSURL string
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience, when set, must be one of the token's aud.
	Audience string
	// Leeway absorbs clock skew in exp, nbf and iat. Zero means
	// DefaultLeeway; it may not exceed MaxLeeway.
	Leeway time.Duration
	// JWKSTimeout bounds each JWKS fetch. Zero means 5 seconds.
	JWKSTimeout time.Duration
	// JWKSRefresh is how often the JWKS is refetched in the background.
	// Zero means an hour. An unknown key id also refetches, at most once
	// per JWKSUnknownKIDInterval.
	JWKSRefresh time.Duration
	// JWKSUnknownKIDInterval limits refetches caused by unknown key ids, so
	// tokens with made-up ids cannot hammer the JWKS endpoint. Zero means
	// 30 seconds.
	JWKSUnknownKIDInterval time.Duration
	// Logger receives JWKS fetch failures (never keys or tokens). Nil
	// means slog.Default().
	Logger *slog.Logger
}

// Defaults and bounds.
const (
	DefaultLeeway   = 30 * time.Second
	MaxLeeway       = 5 * time.Minute
	MinSecretLength = 32
	// MaxTokenLength refuses absurd tokens before any parsing.
	MaxTokenLength = 8 << 10
)

// Validate reports what is wrong with c, without echoing secrets.
func (c Config) Validate() error {
	var errs []error
	if c.Secret == "" && c.JWKSURL == "" {
		errs = append(errs, errors.New("no way to verify tokens: set a JWT secret (HS256) or a JWKS URL (RS256/ES256)"))
	}
	if c.Secret != "" && len(c.Secret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("JWT secret is %d bytes, HS256 needs at least %d", len(c.Secret), MinSecretLength))
	}
	if c.JWKSURL != "" {
		u, err := url.Parse(c.JWKSURL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("JWKS URL: %w", err))
		case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
			errs = append(errs, fmt.Errorf("JWKS URL %q is not an https URL", c.JWKSURL))
		case u.Scheme == "http" && !httpapi.Loopback(u.Hostname()):
			// Keys fetched in the clear can be replaced on the way, and
			// whoever replaces them signs tokens for any user.
			errs = append(errs, fmt.Errorf("JWKS URL %q must use https (plain http only on a loopback address)", c.JWKSURL))
		}
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		errs = append(errs, fmt.Errorf("JWT leeway %v is outside 0..%v", c.Leeway, MaxLeeway))
	}
	return errors.Join(errs...)
}

// Verifier checks tokens. It is safe for concurrent use and meant to live
// for the whole life of the process, so its JWKS cache survives across
// invocations.
type Verifier struct {
	secret []byte
	jwks   keyfunc.Keyfunc
	parser *jwt.Parser
	algs   []string
}

var hmacAlgs = []string{"HS256"}
var jwksAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}

// New builds a Verifier. With a JWKS URL it fetches the keys once now; a
// failed first fetch is logged, not fatal, and retried when a token needs a
// key. ctx bounds the background refresh: cancel it to stop.
func New(ctx context.Context, c Config) (*Verifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{}
	var algs []string
	if c.Secret != "" {
		v.secret = []byte(c.Secret)
		algs = append(algs, hmacAlgs...)
	}
	if c.JWKSURL != "" {
		log := c.Logger
		if log == nil {
			log = slog.Default()
		}
		timeout := orDefault(c.JWKSTimeout, 5*time.Second)
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{c.JWKSURL}, keyfunc.Override{
			HTTPTimeout:       timeout,
			RefreshInterval:   orDefault(c.JWKSRefresh, time.Hour),
			RefreshUnknownKID: rate.NewLimiter(rate.Every(orDefault(c.JWKSUnknownKIDInterval, 30*time.Second)), 1),
			// Wait at most this long for the limiter; a request arriving
			// during the pause fails fast instead.
			RateLimitWaitMax: time.Second,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(ctx context.Context, err error) {
					log.WarnContext(ctx, "JWKS fetch failed", "url", u, "error", err)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("JWKS %s: %w", c.JWKSURL, err)
		}
		v.jwks = kf
		algs = append(algs, jwksAlgs...)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(orDefault(c.Leeway, DefaultLeeway)),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	v.algs = algs
	return v, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Error is a refused token. Its message is safe to return to the caller.
type Error struct {
	Reason string
	err    error
}

func (e *Error) Error() string { return "token refused: " + e.Reason }
func (e *Error) Unwrap() error { return e.err }

// Verify checks raw (the token without "Bearer ") and returns its claims.
// Every failure is an *Error.
func (v *Verifier) Verify(ctx context.Context, raw string) (map[string]any, error) {
	if raw == "" {
		return nil, &Error{Reason: "no token"}
	}
	if len(raw) > MaxTokenLength {
		return nil, &Error{Reason: fmt.Sprintf("token is longer than %d bytes", MaxTokenLength)}
	}
	claims := &claimSet{}
	tok, err := v.parser.ParseWithClaims(raw, claims, v.keyFunc(ctx))
	if err != nil {
		if tok != nil && tok.Method != nil && !slices.Contains(v.algs, tok.Method.Alg()) {
			// The library reports this as a bad signature; say what it is.
			err = fmt.Errorf("%w: %w", errAlgorithm, err)
		}
		return nil, &Error{Reason: reason(err), err: err}
	}
	return claims.MapClaims, nil
}

// claimSet is the token's claims, validated by golang-jwt as MapClaims.
// golang-jwt hands them to encoding/json with its lenient defaults; they
// are decoded again here with encoding/json/v2's strict ones: a claim
// given twice is refused (the one checked must be the one the rules read),
// and so is invalid UTF-8.
type claimSet struct {
	jwt.MapClaims
}

func (c *claimSet) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, (*claimReader)(c))
}

// claimReader reads the claims object token by token. Strings and numbers,
// nearly every claim a token carries, are taken from their tokens; other
// values decode as json.Unmarshal would decode them into an any.
type claimReader claimSet

func (c *claimReader) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	if t, err := d.ReadToken(); err != nil {
		return err
	} else if t.Kind() != '{' {
		return errors.New("the claims are not a JSON object")
	}
	m := make(jwt.MapClaims, 8)
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		claim := name.String()
		var v any
		switch d.PeekKind() {
		case '"':
			t, err := d.ReadToken()
			if err != nil {
				return err
			}
			v = t.String()
		case '0':
			t, err := d.ReadToken()
			if err != nil {
				return err
			}
			if v, err = t.Float(); err != nil {
				return err
			}
		default:
			if err := json.UnmarshalDecode(d, &v); err != nil {
				return err
			}
		}
		m[claim] = v
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	c.MapClaims = m
	return nil
}

// reason turns a jwt error into a short, fixed phrase: the library's own
// text can quote header values the caller chose.
func reason(err error) string {
	switch {
	case errors.Is(err, errAlgorithm):
		return "signing algorithm not accepted"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature invalid"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "no key to verify the token"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim (exp; iss and aud when configured)"
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return "invalid claims"
	}
	return "invalid token"
}

var errAlgorithm = errors.New("algorithm does not fit the key")

// keyFunc picks the key for a token by its algorithm and refuses any key
// whose type does not fit that algorithm: WithValidMethods already limits
// the names, this makes sure an RSA key never meets "HS256" and an HMAC
// secret never meets "RS256".
func (v *Verifier) keyFunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if slices.Contains(hmacAlgs, alg) {
			if v.secret == nil {
				return nil, errAlgorithm
			}
			return v.secret, nil
		}
		if v.jwks == nil || !slices.Contains(jwksAlgs, alg) {
			return nil, errAlgorithm
		}
		k, err := v.jwks.KeyfuncCtx(ctx)(t)
		if err != nil {
			return nil, err
		}
		if set, ok := k.(jwt.VerificationKeySet); ok {
			// A token without a kid: try only the keys of the right type.
			var fit jwt.VerificationKeySet
			for _, key := range set.Keys {
				if fits(alg, key) {
					fit.Keys = append(fit.Keys, key)
				}
			}
			if len(fit.Keys) == 0 {
				return nil, errAlgorithm
			}
			return fit, nil
		}
		if !fits(alg, k) {
			return nil, errAlgorithm
		}
		return k, nil
	}
}

// fits reports whether key may verify alg.
func fits(alg string, key any) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return (alg == "RS256" || alg == "RS384" || alg == "RS512") && k.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return alg == "ES256"
		case elliptic.P384():
			return alg == "ES384"
		case elliptic.P521():
			return alg == "ES512"
		}
	}
	return false
}
