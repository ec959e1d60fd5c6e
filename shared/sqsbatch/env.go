package sqsbatch

import (
	"github.com/heraldrt/herald/shared/config"
)

// ClientFromEnv returns an SQS client configured from a function's
// environment (see config.AWS; AWS_ENDPOINT_URL_SQS points it elsewhere).
func ClientFromEnv(env config.Lookup) (API, error) {
	cfg, err := config.AWS(env)
	if err != nil {
		return nil, err
	}
	return NewClient(cfg)
}
