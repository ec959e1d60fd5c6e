package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Config configures a Client.
type Config struct {
	// Service is the service to call: DynamoDB, SQS or SecretsManager.
	Service Service
	// AWS supplies the region, the credentials, the endpoint overrides
	// (a ConfigSources entry answering GetServiceBaseEndpoint for
	// AWS_ENDPOINT_URL_<SERVICE>, then BaseEndpoint for AWS_ENDPOINT_URL)
	// and RetryMaxAttempts, as config.AWS sets them.
	AWS aws.Config
	// HTTPClient sends the requests; nil means one keep-alive client shared
	// by every Client of the process.
	HTTPClient *http.Client
}

// Validate reports the first missing piece of c.
func (c Config) Validate() error {
	switch {
	case c.Service.SigningName == "" || c.Service.Target == "" || c.Service.Version == "":
		return errors.New("awsjson: the service is not described (use awsjson.DynamoDB, SQS or SecretsManager)")
	case c.AWS.Region == "":
		return fmt.Errorf("awsjson: %s: no region", c.Service.ID)
	case c.AWS.Credentials == nil:
		return fmt.Errorf("awsjson: %s: no credentials", c.Service.ID)
	case c.AWS.RetryMaxAttempts < 0:
		return fmt.Errorf("awsjson: %s: RetryMaxAttempts %d is negative", c.Service.ID, c.AWS.RetryMaxAttempts)
	}
	return nil
}

// Client calls one service's operations. It is safe for concurrent use;
// build one per service per process, at init.
type Client struct {
	svc      Service
	region   string
	url      string
	creds    aws.CredentialsProvider
	http     *http.Client
	signer   *v4.Signer
	attempts int
	quota    quota
}

// New returns a Client for cfg. It makes no request.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	endpoint, err := resolveEndpoint(cfg.AWS, cfg.Service)
	if err != nil {
		return nil, err
	}
	c := &Client{
		svc:      cfg.Service,
		region:   cfg.AWS.Region,
		url:      endpoint,
		creds:    cfg.AWS.Credentials,
		http:     cfg.HTTPClient,
		signer:   v4.NewSigner(),
		attempts: cfg.Service.MaxAttempts,
		quota:    quota{tokens: quotaCapacity},
	}
	if c.http == nil {
		c.http = sharedHTTPClient()
	}
	if cfg.AWS.RetryMaxAttempts > 0 {
		c.attempts = cfg.AWS.RetryMaxAttempts
	}
	if c.attempts < 1 {
		c.attempts = 1
	}
	return c, nil
}

// Endpoint returns the URL requests are posted to.
func (c *Client) Endpoint() string { return c.url }

// Call performs op with in encoded as the JSON request and decodes the
// response into out (nil discards it). Failures are *Error. Attempts that
// fail in a way worth repeating (throttling, 5xx, connection errors) are
// repeated up to the attempt limit with exponential backoff and jitter, as
// long as ctx lasts and the client's retry quota allows.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		// Named by type only: the encoder's text may quote a value.
		return &Error{Service: c.svc.ID, Op: op, Err: fmt.Errorf("encoding the request (%T) failed", in)}
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	spent := 0 // the quota the last retry took
	for attempt := 1; ; attempt++ {
		e := c.attempt(ctx, op, body, hash, out)
		if e == nil {
			if attempt == 1 {
				c.quota.give(quotaSuccess)
			} else {
				c.quota.give(spent)
			}
			return nil
		}
		e.Attempts = attempt
		if !e.retry || attempt >= c.attempts || ctx.Err() != nil {
			return e
		}
		delay := backoff(attempt, e.Throttling, c.svc.BaseDelay)
		if d, ok := ctx.Deadline(); ok && time.Until(d) <= delay {
			// The next attempt could not start in time; the last
			// failure is the better answer than the deadline.
			return e
		}
		spent = quotaRetry
		if e.Throttling {
			spent = quotaThrottleRetry
		}
		if !c.quota.take(spent) {
			// A service failing everything gets no retry storm.
			return e
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return e
		case <-t.C:
		}
	}
}

// attempt makes one signed request.
func (c *Client) attempt(ctx context.Context, op string, body []byte, hash string, out any) *Error {
	fail := func(status int, retry bool, err error) *Error {
		return &Error{Service: c.svc.ID, Op: op, StatusCode: status, Temporary: retry || temporaryCause(err), retry: retry, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fail(0, false, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/x-amz-json-"+c.svc.Version)
	h.Set("X-Amz-Target", c.svc.Target+"."+op)
	if c.svc.QueryCompatible {
		h.Set("X-Amzn-Query-Mode", "true")
	}
	// A CRC32 is over the bytes as sent; the transport's transparent gzip
	// would hide them. The bodies are small JSON anyway.
	h.Set("Accept-Encoding", "identity")
	h.Set("User-Agent", "herald awsjson")
	if trace := traceHeader(); trace != "" {
		h.Set("X-Amzn-Trace-Id", trace)
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		// Not repeated here (the provider has its own cache and
		// refresh), but worth retrying later: the role's credentials
		// endpoint may be briefly unavailable.
		e := fail(0, false, fmt.Errorf("retrieving credentials: %w", err))
		e.Temporary = !errors.Is(err, context.Canceled)
		return e
	}
	if err := c.signer.SignHTTP(ctx, creds, req, hash, c.svc.SigningName, c.region, time.Now()); err != nil {
		return fail(0, false, fmt.Errorf("signing: %w", err))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// A connection that failed or broke is worth another attempt; a
		// certificate that does not verify will not verify next time.
		var cert *tls.CertificateVerificationError
		return fail(0, ctx.Err() == nil && !errors.As(err, &cert), err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fail(resp.StatusCode, ctx.Err() == nil, fmt.Errorf("reading the response: %w", err))
	}
	if c.svc.CRC32 {
		if want := resp.Header.Get("X-Amz-Crc32"); want != "" {
			if n, err := strconv.ParseUint(want, 10, 32); err != nil || uint32(n) != crc32.ChecksumIEEE(data) {
				return fail(resp.StatusCode, true, errCRC32)
			}
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(op, resp, data, creds)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fail(resp.StatusCode, false, decodeError(err))
	}
	return nil
}

// decodeError says where a response did not decode, without the values
// encoding/json's text may quote (a number it could not store): a
// response can hold a secret.
func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("decoding the response: invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("decoding the response: field %s does not hold a %s", typ.Field, typ.Type)
	}
	return errors.New("decoding the response failed")
}

// The standard retryer's retry quota: a client starts with 500 tokens; a
// retry takes 14 (5 after throttling); a retry that succeeds gives its
// tokens back, a first attempt that succeeds gives one.
const (
	quotaCapacity      = 500
	quotaRetry         = 14
	quotaThrottleRetry = 5
	quotaSuccess       = 1
)

type quota struct {
	mu     sync.Mutex
	tokens int
}

func (q *quota) take(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.tokens < n {
		return false
	}
	q.tokens -= n
	return true
}

func (q *quota) give(n int) {
	q.mu.Lock()
	q.tokens = min(q.tokens+n, quotaCapacity)
	q.mu.Unlock()
}

var errCRC32 = errors.New("response body does not match its X-Amz-Crc32 checksum")

// resolveEndpoint picks the endpoint as aws-sdk-go-v2's clients do: the
// service's own override, then the global one, then the regional default.
func resolveEndpoint(cfg aws.Config, svc Service) (string, error) {
	type serviceEndpoint interface {
		GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
	}
	var raw string
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(serviceEndpoint); ok {
			if v, found, err := p.GetServiceBaseEndpoint(context.Background(), svc.ID); err == nil && found && v != "" {
				raw = v
				break
			}
		}
	}
	if raw == "" && cfg.BaseEndpoint != nil {
		raw = *cfg.BaseEndpoint
	}
	if raw == "" {
		domain := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			domain = "amazonaws.com.cn"
		}
		return "https://" + svc.SigningName + "." + cfg.Region + "." + domain + "/", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("awsjson: %s: endpoint %q is not an http(s) URL", svc.ID, raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// traceHeader is the invocation's X-Ray trace header, which the SDK also
// forwards from inside a Lambda function (aws-lambda-go sets it per
// invocation).
func traceHeader() string {
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") == "" {
		return ""
	}
	return os.Getenv("_X_AMZN_TRACE_ID")
}

// sharedHTTPClient is the keep-alive client every Client uses by default:
// as many idle connections per host as aws-sdk-go-v2's default transport
// keeps (10), so a batch of parallel requests reuses its connections.
var sharedHTTPClient = sync.OnceValue(func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 100
	tr.MaxIdleConnsPerHost = 10
	return &http.Client{Transport: tr}
})
