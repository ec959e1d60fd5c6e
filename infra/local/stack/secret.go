package stack

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/heraldrt/herald/shared/config"
)

// withSecret completes lookup with the JSON secret BROADCAST_SECRET_ARN
// names, with config.WithSecret as every function's start-up does in AWS
// (values set in lookup win). AWS settings come from lookup: the stack's
// moto unless AWS_ENDPOINT_URL_SECRETS_MANAGER sends the call elsewhere.
func withSecret(ctx context.Context, lookup config.Lookup) (config.Lookup, error) {
	if v, _ := lookup(config.SecretARNVar); strings.TrimSpace(v) == "" {
		return lookup, nil
	}
	awsCfg, err := config.AWS(lookup)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.SecretARNVar, err)
	}
	return config.WithSecret(ctx, lookup, secretsmanager.NewFromConfig(awsCfg))
}
