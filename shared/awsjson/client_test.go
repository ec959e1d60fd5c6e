package awsjson_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/awsjson"
	"github.com/heraldrt/herald/shared/config"
)

// Example credentials from AWS's SigV4 documentation, and a session token,
// as a Lambda role's environment has them.
const (
	accessKey    = "AKIDEXAMPLE"
	secretKey    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	sessionToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"
)

// lambdaEnv is a function's environment with endpoint overrides added.
func lambdaEnv(overrides map[string]string) config.Lookup {
	m := map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     accessKey,
		"AWS_SECRET_ACCESS_KEY": secretKey,
		"AWS_SESSION_TOKEN":     sessionToken,
	}
	for k, v := range overrides {
		m[k] = v
	}
	return config.Map(m)
}

// newClient builds a client the way the functions do: config.AWS over the
// Lambda environment, then awsjson.New.
func newClient(t *testing.T, svc awsjson.Service, env map[string]string) *awsjson.Client {
	t.Helper()
	cfg, err := config.AWS(lambdaEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	c, err := awsjson.New(awsjson.Config{Service: svc, AWS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// captured is one request as a server received it.
type captured struct {
	r    *http.Request
	body []byte
}

// recorder is a JSON-protocol stand-in that records requests and answers
// each with the next of its answers (the last one repeats).
type recorder struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []captured
	answers []func(w http.ResponseWriter, r *http.Request)
}

func newRecorder(t *testing.T, answers ...func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{answers: answers}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, captured{r: r, body: body})
		answer := rec.answers[min(len(rec.reqs), len(rec.answers))-1]
		rec.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) requests() []captured {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]captured(nil), rec.reqs...)
}

func answer(status int, header map[string]string, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func ok(body string) func(http.ResponseWriter, *http.Request) {
	return answer(200, map[string]string{"Content-Type": "application/x-amz-json-1.0"}, body)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// verifySigV4 recomputes the signature of a received request with
// aws-sdk-go-v2's signer, from the headers the request says it signed and
// the body that arrived, and reports whether it matches.
func verifySigV4(t *testing.T, c captured, body []byte, creds aws.Credentials, service, region string) bool {
	t.Helper()
	auth := c.r.Header.Get("Authorization")
	_, rest, found := strings.Cut(auth, "SignedHeaders=")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/") || !found {
		t.Fatalf("Authorization %q is not SigV4 with %s", auth, creds.AccessKeyID)
	}
	signed, _, _ := strings.Cut(rest, ",")
	when, err := time.Parse("20060102T150405Z", c.r.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date: %v", err)
	}
	again, err := http.NewRequest(c.r.Method, "http://"+c.r.Host+c.r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range strings.Split(signed, ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = c.r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = c.r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), service, region, when); err != nil {
		t.Fatal(err)
	}
	return again.Header.Get("Authorization") == auth
}

func TestRequestIsSignedWithSigV4(t *testing.T) {
	rec := newRecorder(t, ok(`{"Item":{"id":{"S":"k"}}}`))
	c := newClient(t, awsjson.DynamoDB, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": rec.srv.URL})
	in := map[string]any{"TableName": "herald-idempotency", "Key": map[string]any{"id": map[string]string{"S": "k"}}, "ConsistentRead": true}
	var out struct {
		Item map[string]map[string]string
	}
	if err := c.Call(ctxFor(t, 30*time.Second), "GetItem", in, &out); err != nil {
		t.Fatal(err)
	}
	if out.Item["id"]["S"] != "k" {
		t.Fatalf("decoded %+v", out)
	}
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	got := reqs[0]
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, SessionToken: sessionToken}
	if !verifySigV4(t, got, got.body, creds, "dynamodb", "eu-west-1") {
		t.Fatalf("signature does not verify: %s", got.r.Header.Get("Authorization"))
	}
	if !strings.Contains(got.r.Header.Get("Authorization"), "/eu-west-1/dynamodb/aws4_request") {
		t.Fatalf("credential scope: %s", got.r.Header.Get("Authorization"))
	}
	_, signed, _ := strings.Cut(got.r.Header.Get("Authorization"), "SignedHeaders=")
	for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"} {
		if !strings.Contains(signed, h) {
			t.Errorf("%s is not signed: %s", h, signed)
		}
	}
	if got.r.Header.Get("X-Amz-Security-Token") != sessionToken {
		t.Error("session token not sent")
	}
	// The check can fail: another body, another secret or another region
	// do not verify.
	if verifySigV4(t, got, []byte(`{"TableName":"other"}`), creds, "dynamodb", "eu-west-1") {
		t.Fatal("a changed body verified")
	}
	wrong := creds
	wrong.SecretAccessKey = "not-the-secret"
	if verifySigV4(t, got, got.body, wrong, "dynamodb", "eu-west-1") {
		t.Fatal("a wrong secret verified")
	}
	if verifySigV4(t, got, got.body, creds, "dynamodb", "us-east-1") {
		t.Fatal("a wrong region verified")
	}
}

func TestProtocolPerService(t *testing.T) {
	for _, c := range []struct {
		svc                  awsjson.Service
		envVar, op           string
		target, contentType  string
		queryMode, signingAs string
	}{
		{awsjson.DynamoDB, "AWS_ENDPOINT_URL_DYNAMODB", "PutItem", "DynamoDB_20120810.PutItem", "application/x-amz-json-1.0", "", "dynamodb"},
		{awsjson.SQS, "AWS_ENDPOINT_URL_SQS", "SendMessageBatch", "AmazonSQS.SendMessageBatch", "application/x-amz-json-1.0", "true", "sqs"},
		{awsjson.SecretsManager, "AWS_ENDPOINT_URL_SECRETS_MANAGER", "GetSecretValue", "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", "", "secretsmanager"},
	} {
		t.Run(c.svc.ID, func(t *testing.T) {
			rec := newRecorder(t, ok(`{}`))
			other := newRecorder(t, ok(`{}`))
			// The service's own variable wins over AWS_ENDPOINT_URL.
			client := newClient(t, c.svc, map[string]string{c.envVar: rec.srv.URL, "AWS_ENDPOINT_URL": other.srv.URL})
			in := map[string]string{"Field": "value"}
			if err := client.Call(ctxFor(t, 30*time.Second), c.op, in, nil); err != nil {
				t.Fatal(err)
			}
			reqs := rec.requests()
			if len(reqs) != 1 || len(other.requests()) != 0 {
				t.Fatalf("requests: %d to the service's endpoint, %d to the global one", len(reqs), len(other.requests()))
			}
			r := reqs[0].r
			if r.Method != http.MethodPost || r.URL.Path != "/" {
				t.Errorf("%s %s", r.Method, r.URL.Path)
			}
			for h, want := range map[string]string{"X-Amz-Target": c.target, "Content-Type": c.contentType, "X-Amzn-Query-Mode": c.queryMode} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if !strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/"+c.signingAs+"/aws4_request") {
				t.Errorf("signed for %s", r.Header.Get("Authorization"))
			}
			if string(reqs[0].body) != `{"Field":"value"}` {
				t.Errorf("body %s", reqs[0].body)
			}
			// Without its own variable, the global one applies.
			client = newClient(t, c.svc, map[string]string{"AWS_ENDPOINT_URL": other.srv.URL})
			if err := client.Call(ctxFor(t, 30*time.Second), c.op, in, nil); err != nil || len(other.requests()) != 1 {
				t.Fatalf("global endpoint: %v, %d requests", err, len(other.requests()))
			}
		})
	}
}

func TestDefaultEndpoints(t *testing.T) {
	for _, c := range []struct {
		svc    awsjson.Service
		region string
		want   string
	}{
		{awsjson.DynamoDB, "eu-west-1", "https://dynamodb.eu-west-1.amazonaws.com/"},
		{awsjson.SQS, "us-east-2", "https://sqs.us-east-2.amazonaws.com/"},
		{awsjson.SecretsManager, "ap-southeast-2", "https://secretsmanager.ap-southeast-2.amazonaws.com/"},
		{awsjson.DynamoDB, "cn-north-1", "https://dynamodb.cn-north-1.amazonaws.com.cn/"},
	} {
		t.Run(c.svc.ID+" "+c.region, func(t *testing.T) {
			client := newClient(t, c.svc, map[string]string{"AWS_REGION": c.region})
			if got := client.Endpoint(); got != c.want {
				t.Fatalf("endpoint %s, want %s", got, c.want)
			}
		})
	}
}

func TestConfigRefusals(t *testing.T) {
	cfg, err := config.AWS(lambdaEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	noRegion, noCreds, badURL := cfg, cfg, cfg
	noRegion.Region = ""
	noCreds.Credentials = nil
	badURL.BaseEndpoint = aws.String("127.0.0.1:8000")
	for _, c := range []struct {
		name string
		cfg  awsjson.Config
		want string
	}{
		{"no service", awsjson.Config{AWS: cfg}, "service is not described"},
		{"no region", awsjson.Config{Service: awsjson.SQS, AWS: noRegion}, "no region"},
		{"no credentials", awsjson.Config{Service: awsjson.SQS, AWS: noCreds}, "no credentials"},
		{"endpoint without scheme", awsjson.Config{Service: awsjson.SQS, AWS: badURL}, "not an http(s) URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := awsjson.New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Fatal("error reveals the secret key")
			}
		})
	}
}

func TestTraceHeaderInsideLambda(t *testing.T) {
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "herald-QueueFunction")
	t.Setenv("_X_AMZN_TRACE_ID", trace)
	rec := newRecorder(t, ok(`{}`))
	c := newClient(t, awsjson.SQS, map[string]string{"AWS_ENDPOINT_URL_SQS": rec.srv.URL})
	if err := c.Call(ctxFor(t, 30*time.Second), "SendMessageBatch", struct{}{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := rec.requests()[0].r.Header.Get("X-Amzn-Trace-Id"); got != trace {
		t.Fatalf("X-Amzn-Trace-Id %q", got)
	}
}

// errorCases are answers a service gives, and what a caller must learn.
func TestErrorClassification(t *testing.T) {
	json10 := map[string]string{"Content-Type": "application/x-amz-json-1.0"}
	for _, c := range []struct {
		name        string
		svc         awsjson.Service
		env         map[string]string
		answers     []func(http.ResponseWriter, *http.Request)
		calls       int
		code        string
		status      int
		temporary   bool
		throttling  bool
		senderFault bool
		message     string
	}{
		{
			name:    "conditional check failed is not retried",
			svc:     awsjson.DynamoDB,
			answers: []func(http.ResponseWriter, *http.Request){answer(400, json10, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`)},
			calls:   1, code: "ConditionalCheckFailedException", status: 400, message: "The conditional request failed",
		},
		{
			name:    "validation is permanent",
			svc:     awsjson.DynamoDB,
			answers: []func(http.ResponseWriter, *http.Request){answer(400, json10, `{"__type":"com.amazon.coral.validate#ValidationException","Message":"1 validation error detected"}`)},
			calls:   1, code: "ValidationException", status: 400, message: "1 validation error detected",
		},
		{
			name:    "throttling is retried up to AWS_MAX_ATTEMPTS",
			svc:     awsjson.DynamoDB,
			env:     map[string]string{"AWS_MAX_ATTEMPTS": "2"},
			answers: []func(http.ResponseWriter, *http.Request){answer(400, json10, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)},
			calls:   2, code: "ThrottlingException", status: 400, temporary: true, throttling: true,
		},
		{
			name:    "provisioned throughput is throttling",
			svc:     awsjson.DynamoDB,
			env:     map[string]string{"AWS_MAX_ATTEMPTS": "2"},
			answers: []func(http.ResponseWriter, *http.Request){answer(400, json10, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`)},
			calls:   2, code: "ProvisionedThroughputExceededException", status: 400, temporary: true, throttling: true,
		},
		{
			name:    "5xx is retried up to DynamoDB's 4 attempts",
			svc:     awsjson.DynamoDB,
			answers: []func(http.ResponseWriter, *http.Request){answer(500, json10, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`)},
			calls:   4, code: "InternalServerError", status: 500, temporary: true,
		},
		{
			name:    "503 without a body is retried up to SQS's 3 attempts",
			svc:     awsjson.SQS,
			answers: []func(http.ResponseWriter, *http.Request){answer(503, nil, ``)},
			calls:   3, status: 503, temporary: true,
		},
		{
			name:    "501 is not retried",
			svc:     awsjson.SecretsManager,
			answers: []func(http.ResponseWriter, *http.Request){answer(501, nil, `{"__type":"NotImplemented"}`)},
			calls:   1, code: "NotImplemented", status: 501,
		},
		{
			name:    "429 is throttling whatever its code",
			svc:     awsjson.SecretsManager,
			env:     map[string]string{"AWS_MAX_ATTEMPTS": "2"},
			answers: []func(http.ResponseWriter, *http.Request){answer(429, nil, `{}`)},
			calls:   2, status: 429, temporary: true, throttling: true,
		},
		{
			name:    "a 5xx then success",
			svc:     awsjson.SQS,
			answers: []func(http.ResponseWriter, *http.Request){answer(502, nil, `bad gateway`), ok(`{}`)},
			calls:   2,
		},
		{
			name: "SQS's query error header gives the code and the fault",
			svc:  awsjson.SQS,
			answers: []func(http.ResponseWriter, *http.Request){answer(400, map[string]string{
				"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
			}, `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`)},
			calls: 1, code: "AWS.SimpleQueueService.NonExistentQueue", status: 400, senderFault: true, message: "The specified queue does not exist.",
		},
		{
			name: "X-Amzn-ErrorType wins, without its suffix",
			svc:  awsjson.SecretsManager,
			answers: []func(http.ResponseWriter, *http.Request){answer(400, map[string]string{
				"X-Amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.secretsmanager/",
			}, `{"__type":"Other","message":"Secrets Manager can't find the specified secret."}`)},
			calls: 1, code: "ResourceNotFoundException", status: 400, message: "Secrets Manager can't find the specified secret.",
		},
		{
			name:    "a lower-case code member",
			svc:     awsjson.SecretsManager,
			answers: []func(http.ResponseWriter, *http.Request){answer(400, nil, `{"code":"AccessDeniedException","message":"denied"}`)},
			calls:   1, code: "AccessDeniedException", status: 400, message: "denied",
		},
		{
			name: "a CRC32 mismatch is retried",
			svc:  awsjson.DynamoDB,
			answers: []func(http.ResponseWriter, *http.Request){
				answer(200, map[string]string{"X-Amz-Crc32": "1"}, `{"Item":{}}`),
				answer(200, map[string]string{"X-Amz-Crc32": "2745614147"}, `{}`), // crc32("{}")
			},
			calls: 2,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t, c.answers...)
			env := map[string]string{"AWS_ENDPOINT_URL": rec.srv.URL}
			for k, v := range c.env {
				env[k] = v
			}
			err := newClient(t, c.svc, env).Call(ctxFor(t, time.Minute), "Op", struct{}{}, &struct{}{})
			if n := len(rec.requests()); n != c.calls {
				t.Fatalf("%d requests, want %d (err %v)", n, c.calls, err)
			}
			if c.status == 0 {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var e *awsjson.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *awsjson.Error", err)
			}
			if e.Code != c.code || e.StatusCode != c.status || e.Temporary != c.temporary || e.Throttling != c.throttling || e.SenderFault != c.senderFault || e.Attempts != c.calls {
				t.Fatalf("error %+v", e)
			}
			if c.message != "" && e.Message != c.message {
				t.Fatalf("message %q, want %q", e.Message, c.message)
			}
			if e.Service != c.svc.ID || e.Op != "Op" || !strings.HasPrefix(err.Error(), c.svc.ID+" Op: HTTP ") {
				t.Fatalf("error text %q", err)
			}
			if awsjson.Code(fmtWrap(err)) != c.code {
				t.Fatal("Code does not see through wrapping")
			}
		})
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("context"), err) }

func TestConnectionErrorsAreTemporary(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newClient(t, awsjson.SQS, map[string]string{"AWS_ENDPOINT_URL_SQS": "http://" + addr})
	err = c.Call(ctxFor(t, time.Minute), "SendMessageBatch", struct{}{}, nil)
	var e *awsjson.Error
	if !errors.As(err, &e) || !e.Temporary || e.StatusCode != 0 || e.Attempts != awsjson.SQS.MaxAttempts {
		t.Fatalf("err = %#v, want a temporary transport error after %d attempts", err, awsjson.SQS.MaxAttempts)
	}
	var ne net.Error
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v does not unwrap to the network error", err)
	}
}

func TestContextEndsTheCall(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 8)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	c := newClient(t, awsjson.DynamoDB, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": hang.URL})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := c.Call(ctx, "GetItem", struct{}{}, nil)
		var e *awsjson.Error
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &e) || !e.Temporary || e.Attempts != 1 {
			t.Fatalf("err = %v, want one attempt ended by the deadline, temporary", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		for len(arrived) > 0 {
			<-arrived
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// Cancel once the request is in the server's hands.
			<-arrived
			cancel()
		}()
		err := c.Call(ctx, "GetItem", struct{}{}, nil)
		var e *awsjson.Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Temporary {
			t.Fatalf("err = %v, want a permanent cancellation", err)
		}
	})
	t.Run("retry pause ends with the deadline", func(t *testing.T) {
		// Throttling pauses up to a second before the next attempt; a
		// deadline sooner than that ends the call with the last answer.
		rec := newRecorder(t, answer(400, nil, `{"__type":"ThrottlingException","message":"slow down"}`))
		c := newClient(t, awsjson.DynamoDB, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": rec.srv.URL, "AWS_MAX_ATTEMPTS": "50"})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		err := c.Call(ctx, "GetItem", struct{}{}, nil)
		if awsjson.Code(err) != "ThrottlingException" {
			t.Fatalf("err = %v, want the last throttling answer", err)
		}
		if n := len(rec.requests()); n >= 50 {
			t.Fatalf("%d attempts: the deadline did not end the retries", n)
		}
	})
}

func TestErrorsRevealNoSecrets(t *testing.T) {
	const bodySecret = "body-secret-7ad3773142a6692b25b8"
	// A signature mismatch answer quotes the canonical request, token
	// included, on the lines after its first, as AWS does; this stand-in
	// also puts the key and the token on the first line.
	echo := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg := "The request signature we calculated does not match (" + secretKey + " " + r.Header.Get("X-Amz-Security-Token") + ")\n\nThe Canonical String for this request should have been\n'POST\n/\n" +
			"x-amz-security-token:" + r.Header.Get("X-Amz-Security-Token") + "\n" + string(body) + "'"
		b, _ := json.Marshal(map[string]string{"__type": "InvalidSignatureException", "message": msg})
		w.WriteHeader(403)
		w.Write(b)
	}
	garbage := func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"SecretString": "`+bodySecret+`" trailing`)
	}
	number := func(w http.ResponseWriter, r *http.Request) {
		// encoding/json's own text would quote the number it cannot store.
		io.WriteString(w, `{"VersionNumber": 7`+strings.Repeat("3", 20)+`}`)
	}
	for _, c := range []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
	}{
		{"signature mismatch", echo},
		{"undecodable success", garbage},
		{"number out of range", number},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecorder(t, c.answer)
			client := newClient(t, awsjson.SecretsManager, map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": rec.srv.URL})
			var out struct {
				SecretString  string
				VersionNumber int8
			}
			err := client.Call(ctxFor(t, 30*time.Second), "GetSecretValue", map[string]string{"SecretId": bodySecret}, &out)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []string{secretKey, sessionToken, bodySecret, "7333"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error text reveals %q: %v", s, err)
				}
			}
		})
	}
}

// TestDynalite runs a round trip against a real DynamoDB implementation:
// the signature, target and body are accepted, answers decode, and a
// refused condition comes back as its code.
func TestDynalite(t *testing.T) {
	endpoint := testkit.Dynalite(t)
	c := newClient(t, awsjson.DynamoDB, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": endpoint})
	ctx := ctxFor(t, time.Minute)
	create := map[string]any{
		"TableName":            "probe",
		"BillingMode":          "PAY_PER_REQUEST",
		"AttributeDefinitions": []map[string]string{{"AttributeName": "id", "AttributeType": "S"}},
		"KeySchema":            []map[string]string{{"AttributeName": "id", "KeyType": "HASH"}},
	}
	if err := c.Call(ctx, "CreateTable", create, nil); err != nil {
		t.Fatal(err)
	}
	for {
		var d struct{ Table struct{ TableStatus string } }
		if err := c.Call(ctx, "DescribeTable", map[string]string{"TableName": "probe"}, &d); err != nil {
			t.Fatal(err)
		}
		if d.Table.TableStatus == "ACTIVE" {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling, as the SDK's waiter does
	}
	put := map[string]any{
		"TableName":           "probe",
		"Item":                map[string]any{"id": map[string]string{"S": "k"}, "n": map[string]string{"N": "7"}},
		"ConditionExpression": "attribute_not_exists(id)",
	}
	if err := c.Call(ctx, "PutItem", put, nil); err != nil {
		t.Fatal(err)
	}
	err := c.Call(ctx, "PutItem", put, nil)
	var e *awsjson.Error
	if !errors.As(err, &e) || e.Code != "ConditionalCheckFailedException" || e.StatusCode != 400 || e.Temporary || e.Attempts != 1 {
		t.Fatalf("second conditional put: %v", err)
	}
	var got struct {
		Item map[string]map[string]string
	}
	if err := c.Call(ctx, "GetItem", map[string]any{"TableName": "probe", "Key": map[string]any{"id": map[string]string{"S": "k"}}}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Item["n"]["N"] != "7" {
		t.Fatalf("item %+v", got.Item)
	}
}

func TestUntrustedCertificateIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(srv.Close)
	c := newClient(t, awsjson.SQS, map[string]string{"AWS_ENDPOINT_URL_SQS": srv.URL})
	err := c.Call(ctxFor(t, 30*time.Second), "SendMessageBatch", struct{}{}, nil)
	var e *awsjson.Error
	if !errors.As(err, &e) || e.Temporary || e.Attempts != 1 || calls.Load() != 0 {
		t.Fatalf("err = %v (%+v), want one permanent attempt", err, e)
	}
}

// TestRetryQuota follows the standard retryer's quota: 500 tokens, 14 a
// retry. A service that fails everything gets 35 retries from a client,
// then single attempts until successes earn tokens back.
func TestRetryQuota(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if failing.Load() {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, awsjson.SecretsManager, map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_MAX_ATTEMPTS": "2"})
	ctx := ctxFor(t, time.Minute)
	call := func() (int, error) {
		before := calls.Load()
		err := c.Call(ctx, "GetSecretValue", struct{}{}, nil)
		return int(calls.Load() - before), err
	}
	for i := range 35 {
		if n, err := call(); n != 2 || err == nil {
			t.Fatalf("call %d: %d requests (%v), want 2", i, n, err)
		}
	}
	// 500 - 35*14 = 10 tokens left: no retry.
	if n, err := call(); n != 1 || awsjson.Code(err) != "" || err == nil {
		t.Fatalf("call 36: %d requests (%v), want 1", n, err)
	}
	// Four first-attempt successes earn the 14 tokens of one retry.
	failing.Store(false)
	for range 4 {
		if _, err := call(); err != nil {
			t.Fatal(err)
		}
	}
	failing.Store(true)
	if n, _ := call(); n != 2 {
		t.Fatalf("after successes: %d requests, want 2", n)
	}
	if n, _ := call(); n != 1 {
		t.Fatalf("quota spent again: %d requests, want 1", n)
	}
}
