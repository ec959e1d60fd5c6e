package config

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
)

const (
	secretValue = "7ad3773142a6692b25b8"
	ablySecret  = "ably-secret-value-xyz"
)

// counting passes calls to the real client and counts them.
type counting struct {
	SecretsClient
	calls atomic.Int32
}

func (c *counting) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.calls.Add(1)
	return c.SecretsClient.GetSecretValue(ctx, in, optFns...)
}

func secretsClient(t *testing.T) *counting {
	t.Helper()
	return &counting{SecretsClient: secretsmanager.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))}
}

// createSecret stores a secret in moto and returns its ARN. A nil value
// stores a binary secret.
func createSecret(t *testing.T, value *string) string {
	t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(testkit.UniqueName(t, "herald")), SecretString: value}
	if value == nil {
		in.SecretBinary = []byte{0xde, 0xad, 0xbe, 0xef}
	}
	out, err := secretsmanager.NewFromConfig(testkit.AWSConfig(testkit.Moto(t))).CreateSecret(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

func TestWithSecretPrecedence(t *testing.T) {
	arn := createSecret(t, aws.String(`{"PUSHER_APP_SECRET":"`+secretValue+`","PUSHER_APP_KEY":"from-secret","PUSHER_APP_ID":3,"PUSHER_PORT":443}`))
	client := secretsClient(t)
	base := Map(map[string]string{
		"BROADCAST_SECRET_ARN": arn,
		"BROADCAST_CONNECTION": "pusher",
		"PUSHER_APP_KEY":       "278d425bdf160c739803", // set: wins over the secret
		"PUSHER_APP_ID":        "",                     // empty: the secret fills it
	})
	l, err := WithSecret(context.Background(), base, client)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"PUSHER_APP_KEY":       "278d425bdf160c739803",
		"PUSHER_APP_ID":        "3",
		"PUSHER_APP_SECRET":    secretValue,
		"PUSHER_PORT":          "443",
		"BROADCAST_CONNECTION": "pusher",
	} {
		if got, ok := l(key); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", key, got, ok, want)
		}
	}
	if _, ok := l("PUSHER_HOST"); ok {
		t.Error("PUSHER_HOST set from nowhere")
	}
	if n := client.calls.Load(); n != 1 {
		t.Fatalf("%d GetSecretValue calls, want 1", n)
	}

	t.Run("no ARN: no call, base unchanged", func(t *testing.T) {
		client := secretsClient(t)
		base := Map(map[string]string{"X": "1"})
		l, err := WithSecret(context.Background(), base, client)
		if err != nil || client.calls.Load() != 0 {
			t.Fatalf("err %v, calls %d", err, client.calls.Load())
		}
		if v, _ := l("X"); v != "1" {
			t.Fatal("base lost")
		}
	})
}

func TestWithSecretErrorsRevealNothing(t *testing.T) {
	// A secret that exists beside the missing one: its value must not
	// leak into the error either.
	createSecret(t, aws.String(`{"PUSHER_APP_SECRET":"`+secretValue+`"}`))
	missing := "arn:aws:secretsmanager:" + moto.Region + ":" + moto.AccountID + ":secret:" + testkit.UniqueName(t, "missing") + "-AbCdEf"
	for _, c := range []struct {
		name string
		arn  string
		want string
	}{
		{"missing", missing, "BROADCAST_SECRET_ARN: reading secret: "},
		{"binary", createSecret(t, nil), "BROADCAST_SECRET_ARN: the secret has no SecretString (binary secrets are not supported)"},
		{"not json", createSecret(t, aws.String(`PUSHER_APP_SECRET=`+secretValue)), "BROADCAST_SECRET_ARN: the secret is not valid JSON (error at byte 1)"},
		{"array", createSecret(t, aws.String(`["`+secretValue+`"]`)), "BROADCAST_SECRET_ARN: the secret is not a JSON object of strings and numbers"},
		{"nested", createSecret(t, aws.String(`{"PUSHER_APP_SECRET":{"v":"`+secretValue+`"}}`)), "BROADCAST_SECRET_ARN: the secret's PUSHER_APP_SECRET must be a string or a number"},
		{"bool", createSecret(t, aws.String(`{"PUSHER_APP_SECRET":true}`)), "BROADCAST_SECRET_ARN: the secret's PUSHER_APP_SECRET must be a string or a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := WithSecret(context.Background(), Map(map[string]string{"BROADCAST_SECRET_ARN": c.arn}), secretsClient(t))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("err = %v, want prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Fatalf("error reveals the secret: %v", err)
			}
			var notFound *types.ResourceNotFoundException
			if c.name == "missing" && !errors.As(err, &notFound) {
				t.Fatalf("err = %v, want Secrets Manager's ResourceNotFoundException", err)
			}
		})
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	arn := createSecret(t, aws.String(`{"ABLY_KEY":"appid.keyid:`+ablySecret+`"}`))
	for _, kv := range testkit.Moto(t).Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("BROADCAST_SECRET_ARN", arn)
	t.Setenv("BROADCAST_CONNECTION", "ably")
	t.Setenv("ABLY_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	l, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := l("ABLY_KEY")
	conn, _ := l("BROADCAST_CONNECTION")
	if conn != "ably" || key != "appid.keyid:"+ablySecret {
		t.Fatalf("BROADCAST_CONNECTION %q, ABLY_KEY from the secret: %v", conn, key == "appid.keyid:"+ablySecret)
	}
}

// TestDurationAndCount: unset reads as zero, and a bad value's error names
// the variable and the value.
func TestDurationAndCount(t *testing.T) {
	env := Map(map[string]string{"D": " 90m ", "BAD_D": "soon", "N": "3", "ZERO": "0", "BAD_N": "three"})
	if d, err := env.Duration("D"); err != nil || d.Minutes() != 90 {
		t.Errorf("Duration(D) = %v, %v; want 90m", d, err)
	}
	if n, err := env.Count("N"); err != nil || n != 3 {
		t.Errorf("Count(N) = %d, %v; want 3", n, err)
	}
	if d, err := env.Duration("UNSET"); err != nil || d != 0 {
		t.Errorf("Duration(UNSET) = %v, %v; want 0", d, err)
	}
	if n, err := env.Count("UNSET"); err != nil || n != 0 {
		t.Errorf("Count(UNSET) = %d, %v; want 0", n, err)
	}
	for key, read := range map[string]func(string) error{
		"BAD_D": func(k string) error { _, err := env.Duration(k); return err },
		"BAD_N": func(k string) error { _, err := env.Count(k); return err },
		"ZERO":  func(k string) error { _, err := env.Count(k); return err },
	} {
		if err := read(key); err == nil || !strings.Contains(err.Error(), key+" ") {
			t.Errorf("%s: error %v does not name the variable", key, err)
		}
	}
}

func TestConnection(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"BROADCAST_CONNECTION": "reverb", "BROADCAST_DRIVER": "pusher"}, "reverb"},
		{map[string]string{"BROADCAST_DRIVER": "pusher"}, "pusher"},
		{map[string]string{"BROADCAST_CONNECTION": "", "BROADCAST_DRIVER": "ably"}, "ably"},
		{nil, ""},
	} {
		if got := Map(c.env).Connection(); got != c.want {
			t.Errorf("Connection() with %v = %q, want %q", c.env, got, c.want)
		}
	}
}
