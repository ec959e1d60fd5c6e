package idempotency

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// TestErrorClasses answers the store's requests with DynamoDB's error
// answers, from a proxy in front of moto, and checks the store's verdict
// against the SDK's: temporary exactly when the SDK's standard retryer
// retries the answer, after the client's attempts are spent. Whatever the
// verdict, the key is left undecided, and once the fault passes it is
// claimed: nothing was written, nothing lost.
func TestErrorClasses(t *testing.T) {
	db := client(t, 3)
	cases := []struct {
		name      string
		status    int
		code      string
		temporary bool
	}{
		{"throttled", 400, "ThrottlingException", true},
		{"throughput exceeded", 400, "ProvisionedThroughputExceededException", true},
		{"request limit", 400, "RequestLimitExceeded", true},
		{"internal error", 500, "InternalServerError", true},
		{"unavailable", 503, "ServiceUnavailable", true},
		{"429 without a known code", 429, "Busy", true},
		{"a 5xx the SDK does not retry", 501, "NotImplemented", false},
		{"validation", 400, "ValidationException", false},
		{"access denied", 400, "AccessDeniedException", false},
		{"unknown credentials", 400, "UnrecognizedClientException", false},
		{"item collection too large", 400, "ItemCollectionSizeLimitExceededException", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			table := createTable(t, db)
			proxy := newDynamoProxy(t, proxyConfig{fault: func(op string) (int, string) {
				if op == "PutItem" {
					return c.status, c.code
				}
				return 0, ""
			}})
			const attempts = 2
			s := newStore(t, clientAt(t, proxy.URL, attempts), Config{Table: table, NoPrefetch: true})
			ctx := ctxFor(t, time.Minute)
			got, err := s.Claim(ctx, []string{"k"})
			wantStatuses(t, got, Unavailable)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			sdk := retry.NewStandard().IsErrorRetryable(e.Err)
			if e.Temporary != c.temporary || e.Temporary != sdk {
				t.Fatalf("temporary = %v, want %v; the SDK's retryer says %v; err: %v", e.Temporary, c.temporary, sdk, err)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != c.code {
				t.Fatalf("err = %v, want it to unwrap to DynamoDB's %s", err, c.code)
			}
			// The SDK tried a retryable answer again, then gave up.
			var spent *retry.MaxAttemptsError
			wantPuts := 1
			if c.temporary {
				wantPuts = attempts
			}
			if n := proxy.count("PutItem"); n != wantPuts || errors.As(err, &spent) != c.temporary {
				t.Fatalf("%d PutItem requests, attempts spent: %v; want %d, %v", n, errors.As(err, &spent), wantPuts, c.temporary)
			}
			if !strings.Contains(err.Error(), table) {
				t.Fatalf("err = %q, want the table named", err)
			}
			proxy.setFault(nil)
			wantStatuses(t, mustClaim(t, s, ctx, "k"), Claimed)
		})
	}

	t.Run("complete and release", func(t *testing.T) {
		t.Parallel()
		table := createTable(t, db)
		proxy := newDynamoProxy(t, proxyConfig{})
		s := newStore(t, clientAt(t, proxy.URL, 2), Config{Table: table})
		ctx := ctxFor(t, time.Minute)
		// A failed prefetch settles nothing: the writes decide.
		proxy.setFault(func(op string) (int, string) {
			if op == "BatchGetItem" {
				return 400, "ThrottlingException"
			}
			return 0, ""
		})
		wantStatuses(t, mustClaim(t, s, ctx, "done", "failed"), Claimed, Claimed)
		proxy.setFault(func(op string) (int, string) {
			if op == "BatchWriteItem" || op == "DeleteItem" {
				return 503, "ServiceUnavailable"
			}
			return 0, ""
		})
		for op, err := range map[string]error{"complete": s.Complete(ctx, []string{"done"}), "release": s.Release(ctx, []string{"failed"})} {
			var e *Error
			if !errors.As(err, &e) || e.Op != op || !e.Temporary || e.Failed != 1 {
				t.Fatalf("%s: %v, want a temporary failure of one key", op, err)
			}
		}
		// Neither write happened: both keys are still held in progress.
		proxy.setFault(nil)
		other := newStore(t, db, Config{Table: table})
		wantStatuses(t, mustClaim(t, other, ctx, "done", "failed"), InProgress, InProgress)
	})

	t.Run("missing table", func(t *testing.T) {
		t.Parallel()
		const table = "herald-no-such-table"
		s := newStore(t, db, Config{Table: table})
		got, err := s.Claim(ctxFor(t, 30*time.Second), []string{"a", "b"})
		wantStatuses(t, got, Unavailable, Unavailable)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("err = %v, want *Error", err)
		}
		if e.Temporary || e.Failed != 2 || e.Op != "claim" || e.Table != table || e.Key != "a" {
			t.Fatalf("err = %+v, want a permanent claim failure of 2 keys, first a", e)
		}
		var missing *types.ResourceNotFoundException
		var spent *retry.MaxAttemptsError
		if !errors.As(err, &missing) || errors.As(err, &spent) {
			t.Fatalf("err = %v, want a ResourceNotFoundException answered at once", err)
		}
		if !strings.Contains(err.Error(), "table "+table) || !strings.Contains(err.Error(), "[permanent]") {
			t.Fatalf("err = %q, want the table named and the failure permanent", err)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		testUnreachable(t)
	})
}

// testUnreachable points a store at a port nothing listens on: every key
// is undecided and the error is temporary, so nothing is broadcast and the
// items are retried.
func testUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := newStore(t, clientAt(t, "http://"+addr, 2), Config{Table: "herald-idempotency"})
	ctx := ctxFor(t, time.Minute)
	got, err := s.Claim(ctx, []string{"a", "b", "c"})
	wantStatuses(t, got, Unavailable, Unavailable, Unavailable)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if !e.Temporary || e.Failed != 3 || e.Table != "herald-idempotency" || e.Op != "claim" {
		t.Fatalf("err = %+v, want a temporary claim failure of 3 keys", e)
	}
	if sdk := retry.NewStandard().IsErrorRetryable(e.Err); !sdk {
		t.Fatalf("the SDK's retryer does not retry %v", e.Err)
	}
	var ne net.Error
	var spent *retry.MaxAttemptsError
	if !errors.As(err, &ne) || !errors.As(err, &spent) {
		t.Fatalf("err = %v, does not unwrap to the network error after the client's attempts", err)
	}
	if !strings.Contains(err.Error(), "herald-idempotency") || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("err = %q, want the table and first key named", err)
	}
	if err := s.Complete(ctx, []string{"a"}); err == nil {
		t.Fatal("Complete against an unreachable store succeeded")
	}
	if err := s.Release(ctx, []string{"a"}); err == nil || errors.Is(err, ErrNotHeld) {
		t.Fatalf("Release against an unreachable store: %v, want a transport error", err)
	}
}

// TestTemporaryOwnCauses covers the verdicts the store takes itself.
func TestTemporaryOwnCauses(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{ErrNotHeld, false},
		{errEmptyKey, false},
		{errContended, true},
		// The SDK wraps the end of ctx in a CanceledError.
		{&smithy.CanceledError{Err: context.DeadlineExceeded}, true},
		{&smithy.CanceledError{Err: context.Canceled}, false},
	}
	for _, c := range cases {
		if got := temporary(c.err); got != c.want {
			t.Errorf("temporary(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
