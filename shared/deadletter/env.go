package deadletter

import (
	"fmt"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// FromEnv returns the sender for the queue BROADCAST_DLQ_URL names, through
// an SQS client configured from env, or nil when it is unset (poison is
// then reported for the source's own redrive policy).
func FromEnv(env config.Lookup) (*Sender, error) {
	url := env.Get("BROADCAST_DLQ_URL")
	if url == "" {
		return nil, nil
	}
	api, err := sqsbatch.ClientFromEnv(env)
	if err != nil {
		return nil, fmt.Errorf("BROADCAST_DLQ_URL: %w", err)
	}
	return New(api, Config{QueueURL: url})
}
