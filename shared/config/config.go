package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretARNVar names the environment variable holding the Secrets Manager
// secret to read settings from.
const SecretARNVar = "BROADCAST_SECRET_ARN"

// Lookup returns the value of a setting and whether it is set, as
// os.LookupEnv does.
type Lookup func(key string) (string, bool)

// Env looks settings up in the process environment.
func Env() Lookup { return os.LookupEnv }

// Map looks settings up in m; for tests and fixed configurations.
func Map(m map[string]string) Lookup {
	return func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	}
}

// Get returns a setting trimmed of surrounding space; unset and blank are
// the same.
func (l Lookup) Get(key string) string {
	v, _ := l(key)
	return strings.TrimSpace(v)
}

// Duration reads the setting key as a duration such as "100ms" or "2s";
// unset is zero. The error names key and its value.
func (l Lookup) Duration(key string) (time.Duration, error) {
	s := l.Get(key)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration such as 100ms or 2s", key, s)
	}
	return d, nil
}

// Count reads the setting key as a whole number of at least 1; unset is
// zero. The error names key and its value.
func (l Lookup) Count(key string) (int, error) {
	s := l.Get(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s %q must be a whole number of at least 1", key, s)
	}
	return n, nil
}

// Load returns the process environment, completed by the secret that
// BROADCAST_SECRET_ARN names when it is set. The secret is fetched once,
// here, with the AWS configuration of the function's role (see AWS).
func Load(ctx context.Context) (Lookup, error) {
	env := Env()
	if env.Get(SecretARNVar) == "" {
		return env, nil
	}
	cfg, err := AWS(env)
	if err != nil {
		return nil, fmt.Errorf("%s: loading AWS configuration: %w", SecretARNVar, err)
	}
	return WithSecret(ctx, env, secretsmanager.NewFromConfig(cfg))
}

// WithSecret returns base completed by the JSON object of the secret that
// base's BROADCAST_SECRET_ARN names (base itself when it names none). The
// object's values may be strings or numbers; values base sets to non-empty
// strings win over the secret's.
func WithSecret(ctx context.Context, base Lookup, client SecretsClient) (Lookup, error) {
	arn := base.Get(SecretARNVar)
	if arn == "" {
		return base, nil
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("%s: reading secret: %w", SecretARNVar, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("%s: the secret has no SecretString (binary secrets are not supported); store a JSON object such as {\"PUSHER_APP_SECRET\": \"...\"}", SecretARNVar)
	}
	values, err := parseSecret(*out.SecretString)
	if err != nil {
		return nil, err
	}
	return func(key string) (string, bool) {
		if v, ok := base(key); ok && strings.TrimSpace(v) != "" {
			return v, true
		}
		if v, ok := values[key]; ok {
			return v, true
		}
		return base(key)
	}, nil
}

// SecretsClient is the part of Secrets Manager Load needs;
// *secretsmanager.Client implements it.
type SecretsClient interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsClient = (*secretsmanager.Client)(nil)

// parseSecret decodes the secret's JSON object. Its errors say where the
// object is wrong, never what it holds.
func parseSecret(s string) (map[string]string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("%s: the secret is not valid JSON (error at byte %d); it must be a JSON object of strings and numbers", SecretARNVar, syn.Offset)
		}
		return nil, fmt.Errorf("%s: the secret is not a JSON object of strings and numbers", SecretARNVar)
	}
	values := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			values[k] = v
		case json.Number:
			values[k] = v.String()
		default:
			return nil, fmt.Errorf("%s: the secret's %s must be a string or a number", SecretARNVar, k)
		}
	}
	return values, nil
}

// Connection is the broadcast connection as Laravel names it:
// BROADCAST_CONNECTION (Laravel 11 and later), else BROADCAST_DRIVER
// (Laravel 10 and earlier); "" when neither is set, for the caller's
// default.
func (l Lookup) Connection() string {
	if c := l.Get("BROADCAST_CONNECTION"); c != "" {
		return c
	}
	return l.Get("BROADCAST_DRIVER")
}
