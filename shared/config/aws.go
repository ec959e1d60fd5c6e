package config

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/heraldrt/herald/shared/tracing"
)

// AWS returns the AWS SDK configuration of a Lambda function, read from the
// variables the Lambda runtime sets: AWS_REGION, the role's
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (or the
// container credentials endpoint that SnapStart functions get), and the
// standard AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> overrides that
// local runs and tests point at moto.
//
// It replaces the SDK's LoadDefaultConfig on purpose: that loader brings
// profiles, SSO, STS and instance metadata, which a Lambda never uses. A
// program building the SQS, DynamoDB and Secrets Manager clients from each
// (stripped, lambda.norpc) measured 6.4 MB with this against 8.0 MB with
// LoadDefaultConfig on arm64, and 15 ms against 18 ms from exec to ready
// (median of 100 runs on one amd64 core).
func AWS(l Lookup) (aws.Config, error) {
	region := l.Get("AWS_REGION")
	if region == "" {
		region = l.Get("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION is not set (Lambda sets it; set it for local runs)")
	}
	cfg := aws.Config{
		Region:        region,
		ConfigSources: []any{endpoints(l)},
	}
	// A client span per call, a child of the invocation's (a no-op unless
	// tracing is set up).
	tracing.AWS(&cfg.APIOptions)
	if u := l.Get("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	n, err := l.Count("AWS_MAX_ATTEMPTS")
	if err != nil {
		return aws.Config{}, err
	}
	cfg.RetryMaxAttempts = n
	switch {
	case l.Get("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "":
		token := l.Get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
		tokenFile := l.Get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
		cfg.Credentials = aws.NewCredentialsCache(endpointcreds.New(l.Get("AWS_CONTAINER_CREDENTIALS_FULL_URI"), func(o *endpointcreds.Options) {
			o.AuthorizationToken = token
			if tokenFile != "" {
				o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
					b, err := os.ReadFile(tokenFile)
					return strings.TrimSpace(string(b)), err
				})
			}
		}))
	case l.Get("AWS_ACCESS_KEY_ID") != "" && l.Get("AWS_SECRET_ACCESS_KEY") != "":
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			l.Get("AWS_ACCESS_KEY_ID"), l.Get("AWS_SECRET_ACCESS_KEY"), l.Get("AWS_SESSION_TOKEN")))
	default:
		return aws.Config{}, fmt.Errorf("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function's role)")
	}
	return cfg, nil
}

// endpoints answers the SDK's per-service endpoint question from
// AWS_ENDPOINT_URL_<SERVICE> ("Secrets Manager" -> AWS_ENDPOINT_URL_SECRETS_MANAGER).
type endpoints Lookup

func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	key := "AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_")
	if v := Lookup(e).Get(key); v != "" {
		return v, true, nil
	}
	return "", false, nil
}
