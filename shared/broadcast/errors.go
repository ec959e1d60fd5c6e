package broadcast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Error is the one error type every driver returns for a failed provider
// call. Temporary is decided once, here at the driver boundary: callers
// retry temporary failures and dead-letter permanent ones.
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

// TemporaryStatus reports whether an HTTP status is worth retrying: 408,
// 425, 429 and every 5xx. Pusher and Ably answer 400, 401, 403 and 413 for
// requests that will never succeed as they are.
func TemporaryStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return true
	case status >= 500:
		return true
	}
	return false
}

// TemporaryCause reports whether a transport-level cause (no HTTP status) is
// worth retrying: timeouts, deadline expiry, refused or reset connections.
// A cancelled context is not: the invocation is going away.
func TemporaryCause(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// The peer closed the connection before a whole response came back
	// (net/http reports EOF): a reset, like ECONNRESET.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return false
}

// IsTemporary reports whether err (or what it wraps) is a temporary failure.
// Errors that are not *Error count as permanent unless they are transport
// causes that TemporaryCause accepts.
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
