package config

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

const (
	testARN     = "arn:aws:secretsmanager:us-east-1:123456789012:secret:herald-AbCdEf"
	secretValue = "7ad3773142a6692b25b8"
	ablySecret  = "ably-secret-value-xyz"
)

// secretsStub speaks the Secrets Manager JSON protocol for GetSecretValue.
type secretsStub struct {
	t      *testing.T
	srv    *httptest.Server
	secret string // SecretString to return; "" means the secret does not exist
	calls  atomic.Int32
}

func newSecretsStub(t *testing.T, secret string) *secretsStub {
	s := &secretsStub{t: t, secret: secret}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			t.Errorf("request %s %s target %q", r.Method, r.URL.Path, r.Header.Get("X-Amz-Target"))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type %q", ct)
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") {
			t.Errorf("request not SigV4-signed: %q", r.Header.Get("Authorization"))
		}
		var in struct{ SecretId string }
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if in.SecretId != testARN || s.secret == "" {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": testARN, "Name": "herald", "SecretString": s.secret, "VersionId": "v1", "CreatedDate": 1.7e9})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *secretsStub) client() *SecretsManager {
	c, err := NewSecretsManager(aws.Config{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func TestWithSecretPrecedence(t *testing.T) {
	stub := newSecretsStub(t, `{"PUSHER_APP_SECRET":"`+secretValue+`","PUSHER_APP_KEY":"from-secret","PUSHER_APP_ID":3,"PUSHER_PORT":443}`)
	base := Map(map[string]string{
		"BROADCAST_SECRET_ARN": testARN,
		"BROADCAST_CONNECTION": "pusher",
		"PUSHER_APP_KEY":       "278d425bdf160c739803", // set: wins over the secret
		"PUSHER_APP_ID":        "",                     // empty: the secret fills it
	})
	l, err := WithSecret(context.Background(), base, stub.client())
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
	if n := stub.calls.Load(); n != 1 {
		t.Fatalf("%d GetSecretValue calls, want 1", n)
	}

	t.Run("no ARN: no call, base unchanged", func(t *testing.T) {
		stub := newSecretsStub(t, `{}`)
		base := Map(map[string]string{"X": "1"})
		l, err := WithSecret(context.Background(), base, stub.client())
		if err != nil || stub.calls.Load() != 0 {
			t.Fatalf("err %v, calls %d", err, stub.calls.Load())
		}
		if v, _ := l("X"); v != "1" {
			t.Fatal("base lost")
		}
	})
}

func TestWithSecretErrorsRevealNothing(t *testing.T) {
	for _, c := range []struct {
		name, secret, want string
	}{
		{"missing", "", "BROADCAST_SECRET_ARN: reading secret: "},
		{"not json", `PUSHER_APP_SECRET=` + secretValue, "BROADCAST_SECRET_ARN: the secret is not valid JSON (error at byte 1)"},
		{"array", `["` + secretValue + `"]`, "BROADCAST_SECRET_ARN: the secret is not a JSON object of strings and numbers"},
		{"nested", `{"PUSHER_APP_SECRET":{"v":"` + secretValue + `"}}`, "BROADCAST_SECRET_ARN: the secret's PUSHER_APP_SECRET must be a string or a number"},
		{"bool", `{"PUSHER_APP_SECRET":true}`, "BROADCAST_SECRET_ARN: the secret's PUSHER_APP_SECRET must be a string or a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stub := newSecretsStub(t, c.secret)
			_, err := WithSecret(context.Background(), Map(map[string]string{"BROADCAST_SECRET_ARN": testARN}), stub.client())
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("err = %v, want prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Fatalf("error reveals the secret: %v", err)
			}
		})
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	stub := newSecretsStub(t, `{"ABLY_KEY":"appid.keyid:`+ablySecret+`"}`)
	t.Setenv("BROADCAST_SECRET_ARN", testARN)
	t.Setenv("BROADCAST_CONNECTION", "ably")
	t.Setenv("ABLY_KEY", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", stub.srv.URL)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	l, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := l("ABLY_KEY")
	conn, _ := l("BROADCAST_CONNECTION")
	if conn != "ably" || key != "appid.keyid:"+ablySecret || stub.calls.Load() != 1 {
		t.Fatalf("BROADCAST_CONNECTION %q, ABLY_KEY from the secret: %v, calls %d", conn, key == "appid.keyid:"+ablySecret, stub.calls.Load())
	}
}
