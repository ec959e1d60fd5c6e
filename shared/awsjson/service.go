package awsjson

import "time"

// Service describes one AWS JSON-protocol service.
type Service struct {
	// ID is the service's SDK id, which names its endpoint variable:
	// AWS_ENDPOINT_URL_<ID in upper case, spaces as underscores>.
	ID string
	// SigningName is SigV4's service name, and the first label of the
	// default endpoint host.
	SigningName string
	// Target prefixes the operation in X-Amz-Target: "<Target>.<Operation>".
	Target string
	// Version is the JSON protocol version of Content-Type:
	// application/x-amz-json-<Version>.
	Version string
	// QueryCompatible services (SQS) were once query-protocol services;
	// they are told so with X-Amzn-Query-Mode and answer their old error
	// codes in x-amzn-query-error.
	QueryCompatible bool
	// CRC32 services (DynamoDB) send X-Amz-Crc32 over the response body; a
	// mismatch is retried, as the SDK does.
	CRC32 bool
	// MaxAttempts and BaseDelay are the SDK's retry defaults for the
	// service (aws.Config.RetryMaxAttempts overrides MaxAttempts).
	MaxAttempts int
	BaseDelay   time.Duration
}

// The services herald calls, with the values aws-sdk-go-v2's generated
// clients use.
var (
	DynamoDB = Service{
		ID:          "DynamoDB",
		SigningName: "dynamodb",
		Target:      "DynamoDB_20120810",
		Version:     "1.0",
		CRC32:       true,
		// service/dynamodb's resolveRetryer: one extra attempt and a
		// shorter base delay than other services.
		MaxAttempts: 4,
		BaseDelay:   25 * time.Millisecond,
	}
	SQS = Service{
		ID:              "SQS",
		SigningName:     "sqs",
		Target:          "AmazonSQS",
		Version:         "1.0",
		QueryCompatible: true,
		MaxAttempts:     3,
		BaseDelay:       50 * time.Millisecond,
	}
	SecretsManager = Service{
		ID:          "Secrets Manager",
		SigningName: "secretsmanager",
		Target:      "secretsmanager",
		Version:     "1.1",
		MaxAttempts: 3,
		BaseDelay:   50 * time.Millisecond,
	}
)
