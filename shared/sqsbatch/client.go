package sqsbatch

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/heraldrt/herald/shared/awsjson"
)

// SendMessageBatchInput and the types below are the members of SQS's
// SendMessageBatch request and response that the sender uses, named as in
// SQS's API.
type SendMessageBatchInput struct {
	QueueUrl string
	Entries  []SendMessageBatchRequestEntry
}

type SendMessageBatchRequestEntry struct {
	Id                string
	MessageBody       string
	MessageAttributes map[string]MessageAttributeValue `json:",omitempty"`
}

type MessageAttributeValue struct {
	DataType    string
	StringValue string `json:",omitempty"`
}

type SendMessageBatchOutput struct {
	Successful []SendMessageBatchResultEntry
	Failed     []BatchResultErrorEntry
}

type SendMessageBatchResultEntry struct {
	Id               string
	MessageId        string
	MD5OfMessageBody string
}

type BatchResultErrorEntry struct {
	Id          string
	Code        string
	Message     string
	SenderFault bool
}

// Client is the API over awsjson: signed calls to SQS's JSON protocol, with
// the SDK's retry policy for SQS (3 attempts).
type Client struct{ c *awsjson.Client }

var _ API = (*Client)(nil)

// NewClient returns an SQS client for cfg (config.AWS's;
// AWS_ENDPOINT_URL_SQS points it elsewhere). It makes no request.
func NewClient(cfg aws.Config) (*Client, error) {
	c, err := awsjson.New(awsjson.Config{Service: awsjson.SQS, AWS: cfg})
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

func (c *Client) SendMessageBatch(ctx context.Context, in *SendMessageBatchInput) (*SendMessageBatchOutput, error) {
	out := new(SendMessageBatchOutput)
	return out, c.c.Call(ctx, "SendMessageBatch", in, out)
}
