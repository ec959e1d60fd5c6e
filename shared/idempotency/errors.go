package idempotency

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Error reports the keys one Claim, Complete or Release call could not
// handle. Whatever it says, a key Claim left Unavailable must not be
// broadcast: the item is retried later.
type Error struct {
	// Op is "claim", "complete", "release", or "check" (Check: Failed is 0).
	Op string
	// Table is the DynamoDB table.
	Table string
	// Key is the first key that failed, as the caller gave it.
	Key string
	// Failed counts the keys that failed.
	Failed int
	// Temporary reports whether the first failure may pass by itself, as
	// the SDK's standard retryer judges it (throttling, 5xx answers,
	// timeouts, an unreachable endpoint), rather than needing a fix (a
	// missing table, denied access, a key this store does not hold).
	Temporary bool
	// Err is the first key's cause.
	Err error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	if e.Failed == 0 { // Check: a read of the table, not of keys
		return fmt.Sprintf("idempotency: reading table %s failed [%s]: %v", e.Table, kind, e.Err)
	}
	return fmt.Sprintf("idempotency: %s of %d key(s) in table %s failed [%s]; first key %q: %v", e.Op, e.Failed, e.Table, kind, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// errEmptyKey is the cause of a key given as "": nothing to store it by.
var errEmptyKey = errors.New("empty key")

// errContended is the cause of a key whose record kept changing between a
// refused claim and the read of what refused it: other claimers are busy
// with it, and a later delivery will find it settled.
var errContended = errors.New("record changed")

// permanentCodes are DynamoDB error codes that no retry cures: the table,
// the credentials or the request need a fix. The SDK's retryer does not
// retry them either; they are checked first so that the verdict on them
// never hangs on their text (the retryer takes "connection reset" anywhere
// in an error's message, a service's included, for a network failure).
var permanentCodes = map[string]bool{
	"AccessDeniedException":               true,
	"ResourceNotFoundException":           true,
	"ValidationException":                 true,
	"UnrecognizedClientException":         true,
	"MissingAuthenticationTokenException": true,
	"InvalidSignatureException":           true,
}

// sdkRetryer answers, for a DynamoDB failure, what the SDK's standard
// retryer answers when it decides whether to try a request again.
var sdkRetryer = retry.NewStandard()

// temporary classifies a store failure once, for every caller: a failure
// is temporary exactly when the SDK would retry it (throttling, 5xx
// answers, timeouts, refused or reset connections), including one that
// already used up the client's attempts (*retry.MaxAttemptsError), since a
// later delivery may find it gone. Two cases are the store's own: the end
// of ctx's deadline is temporary (the next invocation has its own), a
// cancellation is permanent (the caller's choice). Either way a key Claim
// could not decide is Unavailable and is not broadcast.
func temporary(err error) bool {
	switch {
	case errors.Is(err, ErrNotHeld), errors.Is(err, errEmptyKey), errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errContended):
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && permanentCodes[api.ErrorCode()] {
		return false
	}
	return sdkRetryer.IsErrorRetryable(err)
}
