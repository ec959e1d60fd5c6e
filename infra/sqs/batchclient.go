package sqs

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/heraldrt/herald/shared/sqsbatch"
)

// BatchClient returns the SQS client herald's functions send with
// (sqsbatch's, over awsjson) for a server at endpoint, with the same
// static credentials as Client and retries off.
func BatchClient(endpoint string) *sqsbatch.Client {
	c, err := sqsbatch.NewClient(aws.Config{
		BaseEndpoint:     aws.String(endpoint),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 1,
	})
	if err != nil {
		// Only a malformed endpoint fails, which is a test's own mistake.
		panic(err)
	}
	return c
}
