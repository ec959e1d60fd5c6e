package config

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/infra/testkit"
)

func TestAWSFromLambdaEnvironment(t *testing.T) {
	cfg, err := AWS(Map(map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN":     "session",
		"AWS_MAX_ATTEMPTS":      "1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || cfg.RetryMaxAttempts != 1 || cfg.BaseEndpoint != nil {
		t.Fatalf("config %+v", cfg)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SessionToken != "session" {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
}

// recorder forwards every request to moto, notes the operation each one
// named (X-Amz-Target, as "AmazonSQS.ListQueues") and checks it was signed
// with the environment's key.
type recorder struct {
	mu      sync.Mutex
	targets []string
}

func newRecorder(t *testing.T, endpoint string) (*recorder, string) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") {
			t.Errorf("request not SigV4-signed with the environment's key: %q", req.Header.Get("Authorization"))
		}
		r.mu.Lock()
		r.targets = append(r.targets, req.Header.Get("X-Amz-Target"))
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

func (r *recorder) seen() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.targets, " ")
}

// The SDK's own endpoint variables route the clients built from AWS's
// configuration: AWS_ENDPOINT_URL_<SERVICE> sends that service's calls to
// its endpoint, AWS_ENDPOINT_URL every other service's.
func TestAWSEndpointVariables(t *testing.T) {
	srv := testkit.Moto(t)
	for _, c := range []struct {
		variable, want string
	}{
		{"AWS_ENDPOINT_URL_SQS", "AmazonSQS.ListQueues"},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "secretsmanager.ListSecrets"},
		{"AWS_ENDPOINT_URL_DYNAMODB", "DynamoDB_20120810.ListTables"},
	} {
		t.Run(c.variable, func(t *testing.T) {
			base, baseURL := newRecorder(t, srv.Endpoint)
			one, oneURL := newRecorder(t, srv.Endpoint)
			cfg, err := AWS(Map(map[string]string{
				"AWS_REGION":            "us-east-1",
				"AWS_ACCESS_KEY_ID":     "AKIDEXAMPLE",
				"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				"AWS_ENDPOINT_URL":      baseURL,
				c.variable:              oneURL,
			}))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
				t.Fatal(err)
			}
			if _, err := secretsmanager.NewFromConfig(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
				t.Fatal(err)
			}
			if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
				t.Fatal(err)
			}
			all := []string{"AmazonSQS.ListQueues", "secretsmanager.ListSecrets", "DynamoDB_20120810.ListTables"}
			var rest []string
			for _, op := range all {
				if op != c.want {
					rest = append(rest, op)
				}
			}
			if got := one.seen(); got != c.want {
				t.Errorf("%s's endpoint received %q, want %q", c.variable, got, c.want)
			}
			if got, want := base.seen(), strings.Join(rest, " "); got != want {
				t.Errorf("AWS_ENDPOINT_URL received %q, want %q", got, want)
			}
		})
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
