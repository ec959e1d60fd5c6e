// Package moto runs moto's server mode, the AWS emulator herald's tests and
// local stack use for SQS, DynamoDB (with Streams and TTL), Secrets
// Manager, SNS and EventBridge: one process, one endpoint for every
// service, reached by aws-sdk-go-v2 through AWS_ENDPOINT_URL.
//
// It finds a Python with moto's server installed (the project virtualenv
// that `make dev` creates, else the system python3), starts it on a
// loopback address, waits until it answers, and stops it, process group and
// all. It is not an AWS client: callers build their own with the SDK.
package moto
