// Command hello is the cold-start baseline: the smallest aws-lambda-go
// function, built and started exactly as herald's functions are.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, in map[string]any) (map[string]any, error) {
	return map[string]any{"hello": "world"}, nil
}

func main() {
	lambda.Start(handle)
}
