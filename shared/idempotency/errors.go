package idempotency

import (
	"context"
	"errors"
	"fmt"

	"github.com/heraldrt/herald/shared/awsjson"
)

// Error reports the keys one Claim, Complete or Release call could not
// handle. Whatever it says, a key Claim left Unavailable must not be
// broadcast: the item is retried later.
type Error struct {
	// Op is "claim", "complete" or "release".
	Op string
	// Table is the DynamoDB table.
	Table string
	// Key is the first key that failed, as the caller gave it.
	Key string
	// Failed counts the keys that failed.
	Failed int
	// Temporary reports whether the first failure may pass by itself
	// (throttling, timeouts, unreachable endpoint) rather than needing a
	// fix (missing table, denied access, a key this store does not hold).
	Temporary bool
	// Err is the first key's cause.
	Err error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	return fmt.Sprintf("idempotency: %s of %d key(s) in table %s failed [%s]; first key %q: %v", e.Op, e.Failed, e.Table, kind, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// permanentCodes are DynamoDB error codes that no retry cures.
var permanentCodes = map[string]bool{
	"AccessDeniedException":               true,
	"ResourceNotFoundException":           true,
	"ValidationException":                 true,
	"UnrecognizedClientException":         true,
	"MissingAuthenticationTokenException": true,
	"InvalidSignatureException":           true,
}

// temporary classifies a store failure. The default is temporary: the safe
// reading of an unknown failure is "try this item again later".
func temporary(err error) bool {
	switch {
	case errors.Is(err, ErrNotHeld), errors.Is(err, context.Canceled):
		return false
	}
	if permanentCodes[awsjson.Code(err)] {
		return false
	}
	return true
}
