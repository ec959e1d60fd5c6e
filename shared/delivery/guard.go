package delivery

import (
	"context"
	"fmt"
	"log/slog"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/heraldrt/herald/shared/broadcast"
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

// GuardFromEnv is Guard configured through getenv (os.Getenv, or a
// config.Lookup's value): BROADCAST_RETRY_* for the policy (see
// retry.LoadPolicy) and IDEMPOTENCY_TABLE, IDEMPOTENCY_TTL and
// IDEMPOTENCY_NAMESPACE for the store (see idempotency.LoadConfig). With
// IDEMPOTENCY_TABLE unset there is no store and no AWS configuration is
// loaded; otherwise the DynamoDB client comes from the default AWS
// configuration (AWS_ENDPOINT_URL_DYNAMODB points it elsewhere). Call it
// once per process, at init: the store is one claimant.
func GuardFromEnv(ctx context.Context, d broadcast.Driver, getenv func(string) string, log *slog.Logger) (broadcast.Driver, error) {
	p, err := retry.LoadPolicy(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := idempotency.LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	var store *idempotency.Store
	if cfg.Enabled() {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("IDEMPOTENCY_TABLE: loading AWS configuration: %w", err)
		}
		if store, err = idempotency.New(cfg, dynamodb.NewFromConfig(awsCfg)); err != nil {
			return nil, err
		}
	}
	return Guard(d, p, store, log), nil
}
