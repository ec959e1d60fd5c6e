package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/protocol"
)

// Local defaults. They are not secrets: they only ever open the embedded
// server on a loopback address, and the banner prints them. With provider
// credentials that are not the stack's own, the JWT and publish secrets
// never keep these values (see guardSecrets).
const (
	localAppID     = "local"
	localAppKey    = "local-key"
	localAppSecret = "local-secret"
	localAblyKey   = "herald.local:local-ably-secret"
	localJWTSecret = "herald-local-jwt-secret-for-development-only"
)

// localSecretValues is what the stack's provider secret holds: the keys of
// template.yaml's ProviderSecret (its SecretStringTemplate and the
// generated PUBLISH_APP_SECRET) with the embedded server's credentials.
func localSecretValues() map[string]string {
	return map[string]string{
		"PUSHER_APP_ID":      localAppID,
		"PUSHER_APP_KEY":     localAppKey,
		"PUSHER_APP_SECRET":  localAppSecret,
		"PUSHER_APP_CLUSTER": "mt1",
		"ABLY_KEY":           localAblyKey,
		"PUBLISH_APP_SECRET": localAppSecret,
		"AUTH_JWT_SECRET":    localJWTSecret,
	}
}

// localStreamTables is model broadcasting for the demo's Users table
// (UserCreated/UserUpdated/UserDeleted on the user's own channel and on the
// presence channel every signed-in user joins, which is where the page's
// users panel listens) and the transactional outbox of template.yaml's
// Outbox table.
const localStreamTables = `Users:
  mode: model
  model: User
  channels:
    - "private-App.Models.User.{id}"
    - "presence-online"
  hidden: [password, remember_token]
Outbox:
  mode: outbox
`

// source says where a variable's value comes from.
type source int

const (
	sourceUnset       source = iota
	sourceLocal              // the stack's own: a default or its own secret
	sourceEnvironment        // the process environment
	sourceSecret             // a secret BROADCAST_SECRET_ARN named in the environment
	sourceGenerated          // random for this run (guardSecrets)
)

// env is what the functions read, in this order: AWS_ENDPOINT_URL and
// AWS_REGION (always the stack's moto), the secrets guardSecrets
// generated, the process environment (non-empty values), the provider
// secret BROADCAST_SECRET_ARN names (the stack's own unless the
// environment names another), the stack's local defaults.
type env struct {
	process  config.Lookup
	fixed    map[string]string
	defaults map[string]string
	// generated are the random secrets of guardSecrets.
	generated map[string]string
	// resolved is the process environment over the secret's values.
	resolved    config.Lookup
	localSecret bool
}

// newEnv derives the defaults from the addresses the stack listens on
// (httpAddr, "" when it serves no HTTP, and server) and the resources it
// created in moto (awsEndpoint, res). Until loadSecret reads the secret,
// the stack's own secret's values stand in for it.
//
// Provider credentials from the environment (or a secret it names) without
// a host mean the hosted service, as in production: PUSHER_APP_KEY alone
// reaches Pusher by PUSHER_APP_CLUSTER, ABLY_KEY alone reaches Ably. Only
// the stack's own credentials default to the embedded server.
func newEnv(lookup config.Lookup, httpAddr, server, awsEndpoint string, res resources) *env {
	host, port, _ := net.SplitHostPort(server)
	e := &env{process: lookup, localSecret: true, generated: map[string]string{}}
	// The stack's resources are in its moto, in moto's region.
	e.fixed = map[string]string{"AWS_ENDPOINT_URL": awsEndpoint, "AWS_REGION": moto.Region}
	e.defaults = map[string]string{
		"BROADCAST_CONNECTION": "pusher",
		"PUSHER_HOST":          host,
		"PUSHER_PORT":          port,
		"PUSHER_SCHEME":        "http",
		"ABLY_HOST":            host,
		"ABLY_PORT":            port,
		"ABLY_SCHEME":          "http",
		// The 403 answers name the rule that refused.
		"AUTH_DEBUG": "true",
		// Apps reach the PublishFunction with these and the secret's
		// PUBLISH_APP_SECRET; locally the same values as the embedded
		// server's app, so one Pusher SDK configuration works against
		// either.
		"PUBLISH_APP_ID":       localAppID,
		"PUBLISH_APP_KEY":      localAppKey,
		"PUBLISH_MODE":         "queue",
		"BROADCAST_QUEUE_URL":  res.QueueURL,
		"BROADCAST_DLQ_URL":    res.DLQURL,
		"BROADCAST_SECRET_ARN": res.SecretARN,
		"IDEMPOTENCY_TABLE":    IdempotencyTable,
		// Presence-aware delivery: the table the local WebhookFunction
		// keeps from the embedded server's webhooks, its event bus, and
		// where "unoccupied": "fallback" sends envelopes.
		"PRESENCE_TABLE":         PresenceTable,
		"HERALD_EVENT_BUS":       EventBusName,
		"BROADCAST_FALLBACK_URL": res.FallbackURL,
		"STREAM_TABLES":          localStreamTables,
		"AWS_ACCESS_KEY_ID":      moto.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":  moto.SecretAccessKey,
	}
	if httpAddr != "" {
		// Only the stack's own page may read the auth function's answers:
		// another page open in the same browser must not.
		e.defaults["AUTH_CORS_ORIGINS"] = "http://" + httpAddr
	}
	// Laravel 10's BROADCAST_DRIVER selects the driver when
	// BROADCAST_CONNECTION is unset, as in the functions.
	if c := lookup.Connection(); c != "" {
		e.defaults["BROADCAST_CONNECTION"] = c
	}
	if e.defaults["BROADCAST_CONNECTION"] == "reverb" {
		// Laravel's Reverb variables, pointing at the embedded server with
		// its app's credentials. Reverb is never a hosted service: without
		// REVERB_HOST the embedded server plays it, whatever the app's
		// credentials.
		for k, v := range map[string]string{
			"REVERB_HOST": host, "REVERB_PORT": port, "REVERB_SCHEME": "http",
			"REVERB_APP_ID": localAppID, "REVERB_APP_KEY": localAppKey, "REVERB_APP_SECRET": localAppSecret,
		} {
			e.defaults[k] = v
		}
	}
	local := localSecretValues()
	e.resolved = func(key string) (string, bool) {
		if v, ok := lookup(key); ok && v != "" {
			return v, true
		}
		v, ok := local[key]
		return v, ok
	}
	return e
}

// reachSecret are the variables that reach the secret, so they never come
// from it.
var reachSecret = map[string]bool{
	"AWS_ENDPOINT_URL": true, "AWS_REGION": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, config.SecretARNVar: true,
}

// loadSecret completes the environment with the JSON secret
// BROADCAST_SECRET_ARN names, as every function's start-up does in AWS.
func (e *env) loadSecret(ctx context.Context) error {
	base := func(key string) (string, bool) {
		if v, ok := e.fixed[key]; ok {
			return v, true
		}
		if v, ok := e.process(key); ok && v != "" {
			return v, true
		}
		if reachSecret[key] {
			v, ok := e.defaults[key]
			return v, ok
		}
		return e.process(key)
	}
	resolved, err := withSecret(ctx, base)
	if err != nil {
		return err
	}
	arn, _ := base(config.SecretARNVar)
	e.resolved, e.localSecret = resolved, arn == e.defaults[config.SecretARNVar]
	if err := e.checkCredentials(); err != nil {
		return err
	}
	e.guardSecrets()
	return nil
}

// credentialSets are the variables that only work together. One of a set
// given without the others would be completed with the stack's own
// values, and the hosted service would refuse the mix with an error far
// from its cause.
var credentialSets = [][]string{
	{"PUSHER_APP_ID", "PUSHER_APP_KEY", "PUSHER_APP_SECRET"},
	{"REVERB_APP_ID", "REVERB_APP_KEY", "REVERB_APP_SECRET"},
}

// checkCredentials refuses a credential set given in part (from the
// environment, or a secret it names) and an ABLY_KEY without its secret.
func (e *env) checkCredentials() error {
	outside := func(k string) bool { s := e.source(k); return s == sourceEnvironment || s == sourceSecret }
	for _, set := range credentialSets {
		var given, missing []string
		for _, k := range set {
			if outside(k) {
				given = append(given, k)
			} else {
				missing = append(missing, k)
			}
		}
		if len(given) > 0 && len(missing) > 0 {
			return fmt.Errorf("%s set without %s: give %s together (or none, for the embedded server's)",
				strings.Join(given, " and "), strings.Join(missing, " and "), strings.Join(set, ", "))
		}
	}
	if outside("ABLY_KEY") {
		if _, err := protocol.ParseAblyKey(e.Get("ABLY_KEY")); err != nil {
			return fmt.Errorf("ABLY_KEY %w", err)
		}
	}
	return nil
}

// providerCredentials are the variables that reach a provider.
var providerCredentials = []string{"PUSHER_APP_KEY", "PUSHER_APP_SECRET", "PUSHER_ENCRYPTION_MASTER_KEY_BASE64", "ABLY_KEY", "REVERB_APP_KEY", "REVERB_APP_SECRET"}

// guardedSecrets are what let a caller obtain the provider's signatures:
// a token the auth function accepts, a request the publish function takes.
var guardedSecrets = []string{"AUTH_JWT_SECRET", "PUBLISH_APP_SECRET"}

// guardSecrets replaces the public local JWT and publish secrets with
// random ones for this run when any provider credential is real (from the
// environment, or from a secret the environment names): with the public
// values, any program or page on the machine could mint tokens for any
// user and obtain provider-signed subscriptions to their channels. Values
// set in the environment or that secret are kept.
func (e *env) guardSecrets() {
	fromOutside := !e.localSecret
	for _, k := range providerCredentials {
		fromOutside = fromOutside || e.source(k) == sourceEnvironment
	}
	if !fromOutside {
		return
	}
	for _, k := range guardedSecrets {
		if s := e.source(k); s == sourceEnvironment || s == sourceSecret {
			continue
		}
		b := make([]byte, 32)
		rand.Read(b)
		e.generated[k] = hex.EncodeToString(b)
	}
}

// Lookup returns the value the functions see; see env.
func (e *env) Lookup(key string) (string, bool) {
	if v, ok := e.fixed[key]; ok {
		return v, true
	}
	if v, ok := e.generated[key]; ok {
		return v, true
	}
	if v, ok := e.resolved(key); ok && v != "" {
		return v, true
	}
	v, ok := e.defaults[key]
	if ok && e.hosted(key) {
		return "", false
	}
	return v, ok
}

// hosted reports whether key is the embedded server's host, port or scheme
// while the credentials of its driver are not the stack's own and no host
// is set: then the driver reaches the hosted service.
func (e *env) hosted(key string) bool {
	for _, p := range []struct{ prefix, credential string }{{"PUSHER_", "PUSHER_APP_KEY"}, {"ABLY_", "ABLY_KEY"}} {
		switch key {
		case p.prefix + "HOST", p.prefix + "PORT", p.prefix + "SCHEME":
			if v, ok := e.resolved(p.prefix + "HOST"); ok && v != "" {
				return false
			}
			return e.source(p.credential) != sourceLocal
		}
	}
	return false
}

// source says where key's value comes from.
func (e *env) source(key string) source {
	if _, ok := e.generated[key]; ok {
		return sourceGenerated
	}
	if _, ok := e.fixed[key]; ok {
		return sourceLocal
	}
	if v, ok := e.process(key); ok && v != "" {
		return sourceEnvironment
	}
	if _, ok := e.defaults[key]; ok && reachSecret[key] {
		return sourceLocal
	}
	if v, ok := e.resolved(key); ok && v != "" {
		if e.localSecret {
			return sourceLocal
		}
		return sourceSecret
	}
	if _, ok := e.defaults[key]; ok {
		return sourceLocal
	}
	return sourceUnset
}

// Get is Lookup without the flag.
func (e *env) Get(key string) string {
	v, _ := e.Lookup(key)
	return v
}

// Embedded reports whether the selected driver publishes to the embedded
// server rather than a hosted service.
func (e *env) Embedded(serverAddr string) bool {
	prefix := e.prefix()
	return net.JoinHostPort(e.Get(prefix+"HOST"), e.Get(prefix+"PORT")) == serverAddr
}

// prefix is that of the selected driver's host, port and scheme variables.
func (e *env) prefix() string {
	switch e.Get("BROADCAST_CONNECTION") {
	case "ably":
		return "ABLY_"
	case "reverb":
		return "REVERB_"
	}
	return "PUSHER_"
}

// Keys returns the variables the stack sets, sorted.
func (e *env) Keys() []string {
	seen := map[string]bool{}
	for k := range e.fixed {
		seen[k] = true
	}
	for k := range e.defaults {
		seen[k] = true
	}
	for k := range localSecretValues() {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// secretKey reports whether a variable holds a secret the banner must not
// print unless it is the stack's own.
func secretKey(key string) bool {
	return strings.Contains(key, "SECRET") || key == "ABLY_KEY" || strings.HasSuffix(key, "MASTER_KEY_BASE64")
}
