package config

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestAWSFromLambdaEnvironment(t *testing.T) {
	stub := newSecretsStub(t, `{"PUSHER_APP_KEY":"k"}`)
	cfg, err := AWS(Map(map[string]string{
		"AWS_REGION":                       "eu-west-1",
		"AWS_ACCESS_KEY_ID":                "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN":                "session",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": stub.srv.URL,
		"AWS_MAX_ATTEMPTS":                 "1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || cfg.RetryMaxAttempts != 1 {
		t.Fatalf("config %+v", cfg)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SessionToken != "session" {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	// The per-service endpoint variable reaches a real client: the signed
	// request arrives at the stub.
	client, err := NewSecretsManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.GetSecretValue(context.Background(), &GetSecretValueInput{SecretId: testARN})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SecretString) != `{"PUSHER_APP_KEY":"k"}` || stub.calls.Load() != 1 {
		t.Fatalf("secret %q, calls %d", aws.ToString(out.SecretString), stub.calls.Load())
	}
}

func TestAWSRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, "AWS_REGION is not set"},
		{"no credentials", map[string]string{"AWS_REGION": "us-east-1"}, "no AWS credentials"},
		{"bad attempts", map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "secret-b", "AWS_MAX_ATTEMPTS": "0"}, `AWS_MAX_ATTEMPTS "0"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := AWS(Map(c.env))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret-b") {
				t.Fatal("error reveals a secret")
			}
		})
	}
	cfg, err := AWS(Map(map[string]string{"AWS_DEFAULT_REGION": "us-west-2", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"}))
	if err != nil || cfg.Region != "us-west-2" || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:2" || cfg.Credentials == nil {
		t.Fatalf("container credentials config %+v, %v", cfg, err)
	}
}
