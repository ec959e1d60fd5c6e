package sqsbatch

import (
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/shared/config"
)

// ClientFromEnv returns an SQS client configured from a function's
// environment (see config.AWS; AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL
// points it elsewhere). It makes no request.
func ClientFromEnv(env config.Lookup) (API, error) {
	cfg, err := config.AWS(env)
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg), nil
}
