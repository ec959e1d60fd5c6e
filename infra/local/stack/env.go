package stack

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/heraldrt/herald/shared/config"
)

// Local defaults. They are not secrets: they only ever open the embedded
// server on a loopback address, and the banner prints them.
const (
	localAppID     = "local"
	localAppKey    = "local-key"
	localAppSecret = "local-secret"
	localAblyKey   = "herald.local:local-ably-secret"
	localJWTSecret = "herald-local-jwt-secret-for-development-only"
	localRegion    = "us-east-1"
	usersTableName = "Users"
)

// localStreamTables is model broadcasting for the demo's Users table
// (UserCreated/UserUpdated/UserDeleted on the user's own channel and on the
// presence channel every signed-in user joins, which is where the page's
// users panel listens) and the transactional outbox of template.yaml's
// Outbox table, so every sample stream event has a table to land in.
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

// env is the production environment with the stack's local defaults under
// it: a variable set (non-empty) in the process wins.
type env struct {
	lookup   func(string) (string, bool)
	defaults map[string]string
}

// newEnv derives the defaults from the addresses the stack listens on.
//
// Provider credentials set in the environment without a host mean the
// hosted service, as in production: PUSHER_APP_KEY alone reaches Pusher by
// PUSHER_APP_CLUSTER, ABLY_KEY alone reaches Ably. Only the stack's own
// credentials default to the embedded server.
func newEnv(lookup func(string) (string, bool), server, sqsURL string) *env {
	host, port, _ := net.SplitHostPort(server)
	e := &env{lookup: lookup}
	e.defaults = map[string]string{
		"BROADCAST_CONNECTION": "pusher",
		"PUSHER_APP_ID":        localAppID,
		"PUSHER_APP_KEY":       localAppKey,
		"PUSHER_APP_SECRET":    localAppSecret,
		"PUSHER_APP_CLUSTER":   "mt1",
		"PUSHER_HOST":          host,
		"PUSHER_PORT":          port,
		"PUSHER_SCHEME":        "http",
		"ABLY_KEY":             localAblyKey,
		"ABLY_HOST":            host,
		"ABLY_PORT":            port,
		"ABLY_SCHEME":          "http",
		"AUTH_JWT_SECRET":      localJWTSecret,
		// Any page on this machine may call the auth endpoint, e.g. an
		// app under development on another port.
		"AUTH_CORS_ORIGINS": "*",
		// Apps reach the PublishFunction with these; locally the same
		// values as the embedded server's app, so one Pusher SDK
		// configuration works against either.
		"PUBLISH_APP_ID":      localAppID,
		"PUBLISH_APP_KEY":     localAppKey,
		"PUBLISH_APP_SECRET":  localAppSecret,
		"PUBLISH_MODE":        "queue",
		"BROADCAST_QUEUE_URL": sqsURL + "/" + localAccount + "/" + QueueName,
		"BROADCAST_DLQ_URL":   sqsURL + "/" + localAccount + "/" + DLQName,
		"STREAM_TABLES":       localStreamTables,
		"AWS_REGION":          localRegion,
	}
	for _, p := range []struct{ prefix, credential string }{{"PUSHER_", "PUSHER_APP_KEY"}, {"ABLY_", "ABLY_KEY"}} {
		if !e.Defaulted(p.credential) && e.Defaulted(p.prefix+"HOST") {
			for _, k := range []string{"HOST", "PORT", "SCHEME"} {
				delete(e.defaults, p.prefix+k)
			}
		}
	}
	return e
}

// Embedded reports whether the selected driver publishes to the embedded
// server rather than a hosted service.
func (e *env) Embedded(serverAddr string) bool {
	prefix := "PUSHER_"
	if e.Get("BROADCAST_CONNECTION") == "ably" {
		prefix = "ABLY_"
	}
	return net.JoinHostPort(e.Get(prefix+"HOST"), e.Get(prefix+"PORT")) == serverAddr
}

const localAccount = "000000000000"

// Lookup returns the process's value when set and non-empty, else the local
// default.
func (e *env) Lookup(key string) (string, bool) {
	if v, ok := e.lookup(key); ok && v != "" {
		return v, true
	}
	v, ok := e.defaults[key]
	return v, ok
}

// Get is Lookup without the flag.
func (e *env) Get(key string) string {
	v, _ := e.Lookup(key)
	return v
}

// Defaulted reports whether key takes the stack's default.
func (e *env) Defaulted(key string) bool {
	if v, ok := e.lookup(key); ok && v != "" {
		return false
	}
	_, ok := e.defaults[key]
	return ok
}

// Map returns every variable the stack has a default for, with its value.
func (e *env) Map() map[string]string {
	m := make(map[string]string, len(e.defaults))
	for k := range e.defaults {
		m[k] = e.Get(k)
	}
	return m
}

// Keys returns the defaulted variable names, sorted.
func (e *env) Keys() []string {
	keys := make([]string, 0, len(e.defaults))
	for k := range e.defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// secretKey reports whether a variable holds a secret the banner must not
// print unless it is the stack's own default.
func secretKey(key string) bool {
	return strings.Contains(key, "SECRET") || key == "ABLY_KEY" || strings.HasSuffix(key, "MASTER_KEY_BASE64")
}

// ablyKeyName is the part of an Ably key pusher-js connects with.
func ablyKeyName(key string) string {
	name, _, _ := strings.Cut(key, ":")
	return name
}

// withSecret completes lookup with the JSON secret BROADCAST_SECRET_ARN
// names, as every function's start-up does in AWS, so the local stack can
// run with the deployed stack's provider credentials. AWS credentials and
// region come from the environment (AWS_ACCESS_KEY_ID, AWS_REGION, ...).
func withSecret(ctx context.Context, lookup func(string) (string, bool)) (func(string) (string, bool), error) {
	l := config.Lookup(lookup)
	if v, _ := l(config.SecretARNVar); strings.TrimSpace(v) == "" {
		return lookup, nil
	}
	awsCfg, err := config.AWS(l)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.SecretARNVar, err)
	}
	client, err := config.NewSecretsManager(awsCfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.SecretARNVar, err)
	}
	out, err := config.WithSecret(ctx, l, client)
	if err != nil {
		return nil, err
	}
	return out, nil
}
