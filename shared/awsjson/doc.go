// Package awsjson calls AWS services that speak the JSON protocols (awsJson
// 1.0 and 1.1): a signed POST / with X-Amz-Target naming the operation and
// a JSON body each way. It is what herald's Lambda functions reach
// DynamoDB, SQS and Secrets Manager through.
//
// It exists for cold starts. aws-sdk-go-v2's service clients initialise
// schemas and endpoint tables for every operation of their service, about
// 1.5 ms of package init for the three services together, while the
// functions make six kinds of call. This package keeps what those calls
// need from the SDK: the aws.Config that config.AWS builds (region,
// credentials, endpoint overrides), SigV4 signing with the SDK's own
// signer, and the standard retryer's policy (attempts, backoff with jitter,
// which errors are worth another attempt, the retry quota).
//
// Callers bring their own request and response structs, encoded with
// encoding/json; the consumer packages declare them (idempotency's
// DynamoDB items, sqsbatch's SendMessageBatch, config's GetSecretValue).
//
// What it is not: a general SDK. It has no pagination, waiters, endpoint
// rule sets, FIPS or dual-stack endpoints, request compression, or
// protocols other than JSON.
package awsjson
