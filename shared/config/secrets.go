package config

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/heraldrt/herald/shared/awsjson"
)

// SecretsClient is the part of Secrets Manager Load needs;
// *SecretsManager implements it.
type SecretsClient interface {
	GetSecretValue(ctx context.Context, in *GetSecretValueInput) (*GetSecretValueOutput, error)
}

// GetSecretValueInput is the member of Secrets Manager's GetSecretValue
// request that Load sends.
type GetSecretValueInput struct {
	SecretId string
}

// GetSecretValueOutput is the member of GetSecretValue's response Load
// reads. SecretString is nil for a binary secret.
type GetSecretValueOutput struct {
	SecretString *string
}

// SecretsManager is the SecretsClient over awsjson: signed calls to
// Secrets Manager's JSON protocol, with the SDK's retry policy (3
// attempts).
type SecretsManager struct{ c *awsjson.Client }

var _ SecretsClient = (*SecretsManager)(nil)

// NewSecretsManager returns a Secrets Manager client for cfg (AWS's;
// AWS_ENDPOINT_URL_SECRETS_MANAGER points it elsewhere). It makes no
// request.
func NewSecretsManager(cfg aws.Config) (*SecretsManager, error) {
	c, err := awsjson.New(awsjson.Config{Service: awsjson.SecretsManager, AWS: cfg})
	if err != nil {
		return nil, err
	}
	return &SecretsManager{c: c}, nil
}

func (s *SecretsManager) GetSecretValue(ctx context.Context, in *GetSecretValueInput) (*GetSecretValueOutput, error) {
	out := new(GetSecretValueOutput)
	return out, s.c.Call(ctx, "GetSecretValue", in, out)
}
