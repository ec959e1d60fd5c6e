package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/heraldrt/herald/functions/auth/token"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/protocol"
)

// Config is everything the function needs, loaded once at start-up.
type Config struct {
	// Connection is BROADCAST_CONNECTION (else BROADCAST_DRIVER): pusher,
	// reverb, ably, log or null. It decides which key and secret sign.
	Connection string
	// Key and Secret sign subscriptions: the Pusher app key and secret, or
	// the two halves of an Ably API key.
	Key, Secret string
	// MasterKey is the 32-byte Pusher encryption master key; nil means
	// encrypted channels are refused.
	MasterKey []byte
	// Token configures bearer JWT verification. It may be empty when
	// TrustAuthorizer is set and every route has a JWT authorizer.
	Token token.Config
	// TrustAuthorizer takes the caller's claims from API Gateway's JWT
	// authorizer (requestContext.authorizer.jwt.claims) when present
	// instead of verifying the bearer token again.
	TrustAuthorizer bool
	// CORSOrigins are the browser origins allowed to read answers; "*"
	// allows any.
	CORSOrigins []string
	// Debug adds the name of the deciding rule to 403 answers
	// (AUTH_DEBUG). Off, a 403 says only "forbidden": rule indexes,
	// patterns and evaluation errors tell a prober how the rules are
	// written. The log has the detail either way.
	Debug bool
	// RulesMaxBytes bounds what one rule expression's evaluation may
	// allocate (AUTH_RULES_MAX_BYTES); zero means expr.MemoryLimit, 1 MiB.
	RulesMaxBytes int
	// Rules is the rules file's YAML, RulesSource where it came from.
	Rules       []byte
	RulesSource string
}

// Environment variable names.
const (
	EnvConnection      = "BROADCAST_CONNECTION"
	EnvPusherKey       = "PUSHER_APP_KEY"
	EnvPusherSecret    = "PUSHER_APP_SECRET"
	EnvMasterKey       = "PUSHER_ENCRYPTION_MASTER_KEY_BASE64"
	EnvAblyKey         = "ABLY_KEY"
	EnvJWTSecret       = "AUTH_JWT_SECRET"
	EnvJWKSURL         = "AUTH_JWKS_URL"
	EnvJWTIssuer       = "AUTH_JWT_ISSUER"
	EnvJWTAudience     = "AUTH_JWT_AUDIENCE"
	EnvJWTLeeway       = "AUTH_JWT_LEEWAY"
	EnvTrustAuthorizer = "AUTH_TRUST_AUTHORIZER"
	EnvCORSOrigins     = "AUTH_CORS_ORIGINS"
	EnvDebug           = "AUTH_DEBUG"
	EnvRulesMaxBytes   = "AUTH_RULES_MAX_BYTES"
	EnvChannelsFile    = "CHANNELS_FILE"
	EnvChannels        = "CHANNELS"
)

// Bounds of AUTH_RULES_MAX_BYTES: below 4 KiB ordinary rules fail, above
// 32 MiB one request could take a quarter of a 128 MB function.
const (
	minRulesBytes = 4 << 10
	maxRulesBytes = 32 << 20
)

// loadConfig reads the configuration from env and validates it. The rules
// come from CHANNELS (inline YAML), else the file CHANNELS_FILE names, else
// the embedded default.
func loadConfig(env config.Lookup) (Config, error) {
	get := env.Get
	c := Config{
		Connection: strings.ToLower(env.Connection()),
		Token: token.Config{
			Secret:   get(EnvJWTSecret),
			JWKSURL:  get(EnvJWKSURL),
			Issuer:   get(EnvJWTIssuer),
			Audience: get(EnvJWTAudience),
		},
	}
	var errs []error
	if c.Connection == "" {
		c.Connection = "pusher"
	}
	switch c.Connection {
	case "ably":
		// Ably's Pusher adapter takes the key name as the Pusher key.
		k, err := protocol.ParseAblyKey(get(EnvAblyKey))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %w", EnvAblyKey, err))
		}
		c.Key, c.Secret = k.Name, k.Secret
	case "reverb":
		// Laravel's Reverb app credentials sign as a Pusher app's do.
		c.Key, c.Secret = get("REVERB_APP_KEY"), get("REVERB_APP_SECRET")
	default:
		c.Key, c.Secret = get(EnvPusherKey), get(EnvPusherSecret)
		if mk := get(EnvMasterKey); mk != "" {
			b, err := base64.StdEncoding.DecodeString(mk)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s is not valid base64", EnvMasterKey))
			} else {
				c.MasterKey = b
			}
		}
	}
	leeway, err := env.Duration(EnvJWTLeeway)
	if err != nil {
		errs = append(errs, err)
	}
	c.Token.Leeway = leeway
	for _, f := range []struct {
		name string
		to   *bool
	}{{EnvTrustAuthorizer, &c.TrustAuthorizer}, {EnvDebug, &c.Debug}} {
		if v := get(f.name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not true or false", f.name, v))
			}
			*f.to = b
		}
	}
	if c.RulesMaxBytes, err = env.Count(EnvRulesMaxBytes); err != nil {
		errs = append(errs, err)
	}
	for _, o := range strings.Split(get(EnvCORSOrigins), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, strings.TrimSuffix(o, "/"))
		}
	}
	inline, file := get(EnvChannels), get(EnvChannelsFile)
	switch {
	case inline != "" && file != "":
		errs = append(errs, fmt.Errorf("set %s or %s, not both", EnvChannels, EnvChannelsFile))
	case inline != "":
		c.Rules, c.RulesSource = []byte(inline), EnvChannels
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvChannelsFile, err))
		}
		c.Rules, c.RulesSource = b, file
	default:
		c.Rules, c.RulesSource = defaultRules, "embedded channels.yaml"
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports every problem at once, naming the variable to fix and
// never echoing a secret.
func (c Config) Validate() error {
	var errs []error
	switch c.Connection {
	case "pusher", "reverb", "log", "null":
		if c.Key == "" || c.Secret == "" {
			key, secret := EnvPusherKey, EnvPusherSecret
			if c.Connection == "reverb" {
				key, secret = "REVERB_APP_KEY", "REVERB_APP_SECRET"
			}
			errs = append(errs, fmt.Errorf("%s and %s are required to sign subscriptions (BROADCAST_CONNECTION=%s)", key, secret, c.Connection))
		}
		if c.MasterKey != nil && len(c.MasterKey) != 32 {
			errs = append(errs, fmt.Errorf("%s decodes to %d bytes, want 32", EnvMasterKey, len(c.MasterKey)))
		}
	case "ably":
		if c.Key == "" || c.Secret == "" {
			errs = append(errs, fmt.Errorf("%s must look like appId.keyId:secret", EnvAblyKey))
		}
		if c.MasterKey != nil {
			errs = append(errs, errors.New("encrypted channels are not available through Ably's Pusher adapter; unset the master key"))
		}
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want pusher, reverb, ably, log or null", EnvConnection, c.Connection))
	}
	if c.Token.Secret != "" || c.Token.JWKSURL != "" || !c.TrustAuthorizer {
		if err := c.Token.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w (%s / %s; or %s=true behind an API Gateway JWT authorizer)", err, EnvJWTSecret, EnvJWKSURL, EnvTrustAuthorizer))
		}
	}
	for _, o := range c.CORSOrigins {
		if o != "*" && !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
			errs = append(errs, fmt.Errorf("%s: %q is not an origin such as https://app.example.com", EnvCORSOrigins, o))
		}
	}
	if c.RulesMaxBytes != 0 && (c.RulesMaxBytes < minRulesBytes || c.RulesMaxBytes > maxRulesBytes) {
		errs = append(errs, fmt.Errorf("%s=%d: want %d to %d bytes", EnvRulesMaxBytes, c.RulesMaxBytes, minRulesBytes, maxRulesBytes))
	}
	if len(c.Rules) == 0 {
		errs = append(errs, fmt.Errorf("no channel rules (%s is empty)", c.RulesSource))
	}
	return errors.Join(errs...)
}
