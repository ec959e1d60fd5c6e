package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestLocalSecret: the provider credentials reach the functions through
// the stack's own secret in moto, read with BROADCAST_SECRET_ARN as in
// AWS; a value set in the environment still wins.
func TestLocalSecret(t *testing.T) {
	st := start(t, map[string]string{"PUBLISH_APP_SECRET": "publish-from-the-environment"})
	arn := st.Env("BROADCAST_SECRET_ARN")
	if arn != st.res.SecretARN || !strings.Contains(arn, ":secret:"+SecretName) {
		t.Fatalf("BROADCAST_SECRET_ARN = %q, want the stack's secret %s", arn, st.res.SecretARN)
	}
	out, err := secretsmanager.NewFromConfig(st.AWSConfig()).GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &values); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"PUSHER_APP_ID", "PUSHER_APP_KEY", "PUSHER_APP_SECRET", "ABLY_KEY"} {
		if values[k] == "" || st.Env(k) != values[k] {
			t.Errorf("%s = %q, secret holds %q: want the secret's value", k, st.Env(k), values[k])
		}
	}
	if got := st.Env("PUBLISH_APP_SECRET"); got != "publish-from-the-environment" {
		t.Errorf("PUBLISH_APP_SECRET = %q, want the environment's over the secret's", got)
	}
}

// TestSecretFromEnvironment: BROADCAST_SECRET_ARN set in the environment
// names another secret (here in another moto, reached through
// AWS_ENDPOINT_URL_SECRETS_MANAGER): its credentials are not the stack's,
// so without a host they mean the hosted service, and the banner prints
// none of them.
func TestSecretFromEnvironment(t *testing.T) {
	other := testkit.Moto(t)
	created, err := secretsmanager.NewFromConfig(testkit.AWSConfig(other)).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name:         aws.String(testkit.UniqueName(t, "provider")),
		SecretString: aws.String(`{"PUSHER_APP_ID":"7","PUSHER_APP_KEY":"key-from-the-secret","PUSHER_APP_SECRET":"secret-from-the-secret","PUSHER_APP_CLUSTER":"eu","PUBLISH_APP_SECRET":"publish-from-the-secret"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	st := start(t, map[string]string{
		"BROADCAST_SECRET_ARN":             aws.ToString(created.ARN),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": other.Endpoint,
		"PUSHER_APP_ID":                    "8",
	}, func(c *Config) { c.AWS, c.AWSAddr = nil, "127.0.0.1:0" }) // a moto of its own: the other holds the secret
	for k, want := range map[string]string{"PUSHER_APP_KEY": "key-from-the-secret", "PUSHER_APP_SECRET": "secret-from-the-secret", "PUSHER_APP_CLUSTER": "eu", "PUSHER_APP_ID": "8", "PUSHER_HOST": ""} {
		if got := st.Env(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// The secret named by the environment is real: its publish secret is
	// kept, and the JWT secret it lacks is random, not the public local one.
	if got := st.Env("PUBLISH_APP_SECRET"); got != "publish-from-the-secret" {
		t.Errorf("PUBLISH_APP_SECRET = %q, want the secret's", got)
	}
	if got := st.Env("AUTH_JWT_SECRET"); got == localJWTSecret || len(got) < 32 {
		t.Errorf("AUTH_JWT_SECRET = %q with a secret from the environment, want a random one", got)
	}
	var b bytes.Buffer
	st.printBanner(&b)
	if strings.Contains(b.String(), "secret-from-the-secret") {
		t.Error("the banner prints a value from the secret")
	}
	if !strings.Contains(b.String(), "a provider outside this stack") {
		t.Errorf("the banner does not say the broadcasts leave the stack:\n%s", b.String())
	}

	// A secret that does not exist stops the stack, naming the variable.
	_, err = New(Config{HTTPAddr: "127.0.0.1:0", ServerAddr: "127.0.0.1:0", AWSAddr: "127.0.0.1:0",
		Lookup: func(k string) (string, bool) {
			v, ok := map[string]string{"BROADCAST_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf"}[k]
			return v, ok
		}})
	if err == nil || !strings.Contains(err.Error(), "BROADCAST_SECRET_ARN") {
		t.Errorf("absent secret: %v, want an error naming BROADCAST_SECRET_ARN", err)
	}
}
