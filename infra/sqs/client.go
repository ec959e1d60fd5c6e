package sqs

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Client returns an aws-sdk-go-v2 SQS client for a server at endpoint
// (http://127.0.0.1:PORT), with static credentials and retries off, so a
// refused request shows at once.
func Client(endpoint string) *awssqs.Client {
	return awssqs.New(awssqs.Options{
		BaseEndpoint:     aws.String(endpoint),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 1,
	})
}
