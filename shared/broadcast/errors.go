package broadcast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Error is the one error type every driver returns for a failed provider
// call. Its Temporary flag is the retry decision, taken once where a
// provider's answer or a transport failure becomes an Error (TemporaryStatus,
// TemporaryCause); the retry layer and the settling of outcomes read it and
// decide nothing themselves.
//
// Temporary: the same call may succeed later, so it is retried within the
// invocation, and what still fails goes back to the trigger for redelivery:
//
//   - 408, 425, 429 and every 5xx: the provider is busy or failing;
//   - 401 and 403: the provider refused herald's credentials or account (a
//     rotated secret, a disabled app, a spent quota), not the event;
//   - timeouts, an ended context (deadline or cancellation: the invocation is
//     going away, not the event), refused or reset connections;
//   - a request the rate limiter held back because its turn would come
//     after the deadline (*Backoff; RetryAfter gives the wait).
//
// Permanent: the call will never succeed as it is, and the event is
// dead-lettered:
//
//   - every other status, such as 400, 404 and 413;
//   - validation failures found before any request (data over the limit, a
//     channel the provider cannot carry) and requests the SDK refuses to
//     build.
type Error struct {
	// Provider is the driver's name: "pusher", "ably".
	Provider string
	// Op is what was attempted: "trigger", "batch_events", "publish".
	Op string
	// StatusCode is the provider's HTTP status, 0 when none was received.
	StatusCode int
	// Code is the provider's own error code when it gives one (Ably's 40009).
	Code int
	// Temporary reports whether the same call may succeed later.
	Temporary bool
	// Err is the underlying cause.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Op != "" {
		b.WriteString(" ")
		b.WriteString(e.Op)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if e.Temporary {
		b.WriteString(" [temporary]")
	} else {
		b.WriteString(" [permanent]")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// TemporaryStatus reports whether a provider's HTTP status is temporary:
// 401, 403, 408, 425, 429 and every 5xx (see Error).
func TemporaryStatus(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden,
		http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// TemporaryCause reports whether a failure that came with no HTTP status is
// temporary: an ended context, a timeout, a refused or reset connection, any
// other network error (see Error).
func TemporaryCause(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	case IsBackoff(err):
		// Held back by the rate limiter for lack of time: the message goes
		// again on the next delivery.
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The peer closed the connection before a whole response came back
		// (net/http reports EOF): a reset, like ECONNRESET.
		return true
	}
	// Dial, read and write failures (*net.OpError, ECONNREFUSED,
	// ECONNRESET) and timeouts all satisfy net.Error.
	var ne net.Error
	return errors.As(err, &ne)
}

// IsTemporary reports the Temporary flag of the *Error err is or wraps.
// An error no driver classified gets the same rule as a transport cause
// (TemporaryCause): an ended context or a dropped connection is temporary,
// anything else permanent.
func IsTemporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary
	}
	return TemporaryCause(err)
}

// BatchError reports the messages of one Broadcast call that failed.
// Errs has one entry per message given, nil for those that were sent.
type BatchError struct {
	Errs []error
}

func (e *BatchError) Error() string {
	failed, temporary := 0, 0
	var first error
	for _, err := range e.Errs {
		if err == nil {
			continue
		}
		failed++
		if IsTemporary(err) {
			temporary++
		}
		if first == nil {
			first = err
		}
	}
	return fmt.Sprintf("%d of %d messages failed (%d temporary); first: %v", failed, len(e.Errs), temporary, first)
}

// Unwrap returns the distinct underlying errors, so errors.Is and errors.As
// see them.
func (e *BatchError) Unwrap() []error {
	var out []error
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Failures spreads the result of Broadcast over its n messages: nil for each
// message that was sent, its error otherwise.
func Failures(err error, n int) []error {
	out := make([]error, n)
	if err == nil {
		return out
	}
	var be *BatchError
	if errors.As(err, &be) && len(be.Errs) == n {
		copy(out, be.Errs)
		return out
	}
	for i := range out {
		out[i] = err
	}
	return out
}

// bodyExcerpt is the start of a provider's error body, for messages.
func bodyExcerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "empty response body"
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// RetryAfter is how long to wait before delivering err's message again,
// when it is known: the wait of a *Backoff the rate limiter returned. The
// trigger uses it to delay the redelivery (an SQS message's visibility).
func RetryAfter(err error) (time.Duration, bool) {
	var b *Backoff
	if errors.As(err, &b) {
		return b.Wait, true
	}
	return 0, false
}

// IsBackoff reports whether err is, or holds, a *Backoff: a message the
// rate limiter kept for a later delivery, not worth retrying within the
// same invocation.
func IsBackoff(err error) bool {
	return errors.As(err, new(*Backoff))
}
