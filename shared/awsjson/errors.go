package awsjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Error is a failed call: the service's answer when there was one, else
// the transport's failure.
//
// Its text names the service, operation, status, code and the service's
// message; never the request's body or the credentials.
type Error struct {
	// Service is the service's SDK id ("DynamoDB").
	Service string
	// Op is the operation ("PutItem").
	Op string
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Code is the service's error code without namespace
	// ("ConditionalCheckFailedException"); for SQS, the query-protocol
	// code of x-amzn-query-error when present
	// ("AWS.SimpleQueueService.NonExistentQueue"). "" for transport errors.
	Code string
	// Message is the service's message, cut to a line of at most 512 bytes.
	Message string
	// SenderFault reports SQS's verdict that the request itself is wrong.
	SenderFault bool
	// Throttling reports a throttling code or HTTP 429.
	Throttling bool
	// Temporary reports a failure that may pass by itself: throttling,
	// 500/502/503/504, a connection that failed or broke, a checksum
	// mismatch, ctx's deadline. Those but the deadline were retried
	// already, up to the attempt limit.
	Temporary bool
	// Attempts counts the requests made.
	Attempts int
	// Err is the transport's or decoder's failure, nil for a service's
	// error answer.
	Err error

	retry bool   // worth another attempt within this call
	body  []byte // the error answer, for DecodeBody
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Service, e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (%d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// DecodeBody decodes the service's error answer into v, for the fields
// some errors carry beside code and message (DynamoDB's
// ConditionalCheckFailedException carries the refusing Item when asked).
func (e *Error) DecodeBody(v any) error {
	if len(e.body) == 0 {
		return errors.New("no error body")
	}
	return json.Unmarshal(e.body, v)
}

// Code returns the service's error code of err (an *Error, possibly
// wrapped), "" when there is none.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// throttleCodes and retryCodes are aws-sdk-go-v2's standard retryer's
// DefaultThrottleErrorCodes and DefaultRetryableErrorCodes.
var (
	throttleCodes = map[string]bool{
		"Throttling":                             true,
		"ThrottlingException":                    true,
		"ThrottledException":                     true,
		"RequestThrottledException":              true,
		"TooManyRequestsException":               true,
		"ProvisionedThroughputExceededException": true,
		"TransactionInProgressException":         true,
		"RequestLimitExceeded":                   true,
		"BandwidthLimitExceeded":                 true,
		"LimitExceededException":                 true,
		"RequestThrottled":                       true,
		"SlowDown":                               true,
		"PriorRequestNotComplete":                true,
		"EC2ThrottledException":                  true,
	}
	retryCodes = map[string]bool{
		"RequestTimeout":          true,
		"RequestTimeoutException": true,
	}
)

// retryStatus are the standard retryer's DefaultRetryableHTTPStatusCodes.
func retryStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// apiError reads a JSON protocol error answer: the code from
// X-Amzn-ErrorType, else the body's __type or code, without namespace
// ("com.amazonaws.dynamodb.v20120810#") or suffix (":http://...").
func (c *Client) apiError(op string, resp *http.Response, data []byte, creds aws.Credentials) *Error {
	var info struct {
		Type     string `json:"__type"`
		Code     any    `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(data, &info) // an unreadable body leaves the status to speak
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = info.Type
	}
	if s, ok := info.Code.(string); ok && code == "" {
		code = s
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.IndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	e := &Error{Service: c.svc.ID, Op: op, StatusCode: resp.StatusCode, Code: code, body: data}
	if c.svc.QueryCompatible {
		// "AWS.SimpleQueueService.NonExistentQueue;Sender"
		if q, fault, ok := strings.Cut(resp.Header.Get("X-Amzn-Query-Error"), ";"); ok && q != "" {
			e.Code = q
			e.SenderFault = fault == "Sender"
		}
	}
	msg := info.Message
	if msg == "" {
		msg = info.MessageU
	}
	e.Message = cleanMessage(msg, creds)
	e.Throttling = throttleCodes[code] || throttleCodes[e.Code] || resp.StatusCode == http.StatusTooManyRequests
	e.retry = e.Throttling || retryCodes[code] || retryStatus(resp.StatusCode)
	e.Temporary = e.retry
	return e
}

// cleanMessage keeps a service message fit for logs: its first line, at
// most 512 bytes, and never the caller's secret key or session token (a
// signature mismatch answer can quote the canonical request, which holds
// the token).
func cleanMessage(msg string, creds aws.Credentials) string {
	for _, s := range []string{creds.SecretAccessKey, creds.SessionToken} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i] + " …"
	}
	const limit = 512
	if len(msg) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		msg = msg[:n] + "…"
	}
	return msg
}

// temporaryCause classifies a failure that got no answer: ctx's deadline
// may pass with the next invocation, a cancellation is the caller's choice.
func temporaryCause(err error) bool {
	return err != nil && errors.Is(err, context.DeadlineExceeded)
}

// maxBackoff caps one pause, as the standard retryer's DefaultMaxBackoff.
const maxBackoff = 20 * time.Second

// backoff is the standard retryer's pause before the attempt after
// attempt (1-based): uniform in [0, min(x*2^(attempt-1), 20s)), where x is
// a second after throttling and the service's base delay otherwise.
func backoff(attempt int, throttling bool, base time.Duration) time.Duration {
	x := base
	if throttling || x <= 0 {
		x = time.Second
	}
	ceiling := maxBackoff
	if i := attempt - 1; i < 30 {
		ceiling = min(x<<i, maxBackoff)
	}
	return time.Duration(rand.Float64() * float64(ceiling))
}
