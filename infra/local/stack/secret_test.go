package stack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestSecretsManager: with BROADCAST_SECRET_ARN set, the stack completes
// its environment from that secret, as the functions do at start-up in
// AWS. The stand-in speaks Secrets Manager's JSON protocol.
func TestSecretsManager(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:herald-provider-AbCdEf"
	var mu sync.Mutex
	var asked []string
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct{ SecretId string }
		json.Unmarshal(body, &in)
		mu.Lock()
		asked = append(asked, r.Header.Get("X-Amz-Target")+" "+in.SecretId)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{
			"ARN": arn, "Name": "herald-provider",
			"SecretString": `{"PUSHER_APP_SECRET":"secret-from-secrets-manager","PUBLISH_APP_SECRET":"publish-from-secrets-manager"}`,
		})
	}))
	defer sm.Close()

	st := start(t, map[string]string{
		"BROADCAST_SECRET_ARN":             arn,
		"AWS_REGION":                       "us-east-1",
		"AWS_ACCESS_KEY_ID":                "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY":            "local",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
	})
	if got := st.Env("PUSHER_APP_SECRET"); got != "secret-from-secrets-manager" {
		t.Errorf("PUSHER_APP_SECRET = %q, want the secret's", got)
	}
	if got := st.Env("PUSHER_APP_KEY"); got != localAppKey {
		t.Errorf("PUSHER_APP_KEY = %q: variables the secret lacks keep their local default", got)
	}
	mu.Lock()
	if len(asked) != 1 || asked[0] != "secretsmanager.GetSecretValue "+arn {
		t.Errorf("Secrets Manager was asked %q, want one GetSecretValue for the ARN", asked)
	}
	mu.Unlock()

	var b bytes.Buffer
	st.printBanner(&b)
	if strings.Contains(b.String(), "from-secrets-manager") {
		t.Error("the banner prints a value from the secret")
	}

	// Without AWS credentials the stack refuses to start, naming why.
	_, err := New(Config{HTTPAddr: "127.0.0.1:0", ServerAddr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0",
		Lookup: func(k string) (string, bool) {
			v, ok := map[string]string{"BROADCAST_SECRET_ARN": arn, "AWS_REGION": "us-east-1"}[k]
			return v, ok
		}})
	if err == nil || !strings.Contains(err.Error(), "BROADCAST_SECRET_ARN") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("no AWS credentials: %v", err)
	}
}
