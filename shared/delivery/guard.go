package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/idempotency"
	"github.com/heraldrt/herald/shared/retry"
)

// Guard wraps a provider driver the way every trigger function sends: the
// temporary failures are retried within the invocation (always, under p),
// and, when store is not nil, each message id is broadcast once. The order
// matters: the claim is taken once around all the retries, and the retry
// driver's safety margin leaves time to complete or release it.
func Guard(d broadcast.Driver, p retry.Policy, store *idempotency.Store, log *slog.Logger) broadcast.Driver {
	var out broadcast.Driver = retry.New(d, p)
	if store != nil {
		out = NewIdempotent(out, store, log)
	}
	return out
}

// GuardFromEnv is Guard configured from env: the policy from
// retry.LoadPolicy, the store from idempotency.LoadConfig and, when
// IDEMPOTENCY_TABLE is set, a DynamoDB client from config.AWS. Call it once
// per process, at init: the store is one claimant. ctx bounds the start-up
// read of the table.
func GuardFromEnv(ctx context.Context, d broadcast.Driver, env config.Lookup, log *slog.Logger) (broadcast.Driver, error) {
	p, err := retry.LoadPolicy(env)
	if err != nil {
		return nil, err
	}
	cfg, err := idempotency.LoadConfig(env)
	if err != nil {
		return nil, err
	}
	var store *idempotency.Store
	if cfg.Enabled() {
		awsCfg, err := config.AWS(env)
		if err != nil {
			return nil, fmt.Errorf("IDEMPOTENCY_TABLE: %w", err)
		}
		if store, err = idempotency.New(cfg, dynamodb.NewFromConfig(awsCfg)); err != nil {
			return nil, err
		}
		// A missing table is a configuration error, found at init: Lambda
		// then retries the start and the messages wait on their queue,
		// instead of every one of them failing its claim.
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err = store.Check(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("IDEMPOTENCY_TABLE: %w", err)
		}
	}
	return Guard(d, p, store, log), nil
}

// checkTimeout bounds the start-up read of the idempotency table, the SDK's
// retries included.
const checkTimeout = 10 * time.Second

// DriverFromEnv builds the driver BROADCAST_CONNECTION selects and guards
// it as GuardFromEnv does: what every trigger function broadcasts through.
func DriverFromEnv(ctx context.Context, env config.Lookup, log *slog.Logger) (broadcast.Driver, error) {
	bc, err := broadcast.LoadConfig(env)
	if err != nil {
		return nil, err
	}
	d, err := broadcast.New(bc, log)
	if err != nil {
		return nil, err
	}
	return GuardFromEnv(ctx, d, env, log)
}
