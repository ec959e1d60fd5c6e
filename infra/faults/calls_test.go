package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// awsCalls counts a case's AWS calls and their time, by operation: on
// moto, a single Python process, they are where a run's time goes.
type awsCalls struct {
	mu    sync.Mutex
	count map[string]int
	total map[string]time.Duration
}

// instrument returns cfg with every client made from it reporting to c.
func (c *awsCalls) instrument(cfg aws.Config) aws.Config {
	c.count, c.total = map[string]int{}, map[string]time.Duration{}
	cfg.APIOptions = append(slices.Clone(cfg.APIOptions), func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("faults/calls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			op := awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.count[op]++
			c.total[op] += time.Since(start)
			c.mu.Unlock()
			return out, md, err
		}), middleware.Before)
	})
	return cfg
}

// String lists the operations, most called first, with their mean time
// (retries included).
func (c *awsCalls) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := make([]string, 0, len(c.count))
	for op := range c.count {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, b string) int { return c.count[b] - c.count[a] })
	var b strings.Builder
	for i, op := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d (mean %v)", op, c.count[op], (c.total[op] / time.Duration(c.count[op])).Round(100*time.Microsecond))
	}
	return b.String()
}
