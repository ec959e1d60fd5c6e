package deadletter

import (
	"fmt"
	"strings"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// FromEnv returns the sender for the queue BROADCAST_DLQ_URL names, or nil
// when it is unset (poison is then reported for the queue's own redrive
// policy). api sends the letters; nil means an SQS client configured from
// env.
func FromEnv(env config.Lookup, api sqsbatch.API) (*Sender, error) {
	url, _ := env("BROADCAST_DLQ_URL")
	url = strings.TrimSpace(url)
	if url == "" {
		return nil, nil
	}
	if api == nil {
		var err error
		if api, err = sqsbatch.ClientFromEnv(env); err != nil {
			return nil, fmt.Errorf("BROADCAST_DLQ_URL: %w", err)
		}
	}
	return New(api, Config{QueueURL: url})
}
