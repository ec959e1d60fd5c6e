package idempotency

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/heraldrt/herald/shared/awsjson"
)

// API is the part of DynamoDB a Store uses; *DynamoDB implements it. These
// five actions on the table are all the IAM policy needs to allow.
//
// A refused condition is an error that wraps an *awsjson.Error with Code
// "ConditionalCheckFailedException"; for PutItem with
// ReturnValuesOnConditionCheckFailure ALL_OLD its body may carry the
// refusing Item. Other failures are errors too, classified by awsjson.
type API interface {
	GetItem(ctx context.Context, in *GetItemInput) (*GetItemOutput, error)
	PutItem(ctx context.Context, in *PutItemInput) (*PutItemOutput, error)
	DeleteItem(ctx context.Context, in *DeleteItemInput) (*DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, in *BatchGetItemInput) (*BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *BatchWriteItemInput) (*BatchWriteItemOutput, error)
}

// AttributeValue is DynamoDB's typed value in its JSON form, {"S": "..."}
// or {"N": "..."}: the only two types a record holds. Set exactly one.
type AttributeValue struct {
	S string `json:"S,omitempty"`
	N string `json:"N,omitempty"`
}

// Item is a record, or a key, by attribute name.
type Item = map[string]AttributeValue

// GetItemInput and the types below are the members of DynamoDB's requests
// and responses that a Store sends and reads, named as in DynamoDB's API.
type GetItemInput struct {
	TableName      string
	Key            Item
	ConsistentRead bool `json:",omitempty"`
}

type GetItemOutput struct {
	Item Item
}

type PutItemInput struct {
	TableName                           string
	Item                                Item
	ConditionExpression                 string                    `json:",omitempty"`
	ExpressionAttributeNames            map[string]string         `json:",omitempty"`
	ExpressionAttributeValues           map[string]AttributeValue `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure string                    `json:",omitempty"`
}

type PutItemOutput struct{}

type DeleteItemInput struct {
	TableName                 string
	Key                       Item
	ConditionExpression       string                    `json:",omitempty"`
	ExpressionAttributeNames  map[string]string         `json:",omitempty"`
	ExpressionAttributeValues map[string]AttributeValue `json:",omitempty"`
}

type DeleteItemOutput struct{}

type KeysAndAttributes struct {
	Keys                     []Item
	ConsistentRead           bool              `json:",omitempty"`
	ProjectionExpression     string            `json:",omitempty"`
	ExpressionAttributeNames map[string]string `json:",omitempty"`
}

type BatchGetItemInput struct {
	RequestItems map[string]KeysAndAttributes
}

type BatchGetItemOutput struct {
	Responses       map[string][]Item
	UnprocessedKeys map[string]KeysAndAttributes
}

type PutRequest struct {
	Item Item
}

type WriteRequest struct {
	PutRequest *PutRequest `json:",omitempty"`
}

type BatchWriteItemInput struct {
	RequestItems map[string][]WriteRequest
}

type BatchWriteItemOutput struct {
	UnprocessedItems map[string][]WriteRequest
}

// DynamoDB is the API over awsjson: signed calls to DynamoDB's JSON
// protocol, with the SDK's retry policy for DynamoDB (4 attempts).
type DynamoDB struct{ c *awsjson.Client }

var _ API = (*DynamoDB)(nil)

// NewDynamoDB returns a DynamoDB client for cfg (config.AWS's;
// AWS_ENDPOINT_URL_DYNAMODB points it elsewhere). It makes no request.
func NewDynamoDB(cfg aws.Config) (*DynamoDB, error) {
	c, err := awsjson.New(awsjson.Config{Service: awsjson.DynamoDB, AWS: cfg})
	if err != nil {
		return nil, err
	}
	return &DynamoDB{c: c}, nil
}

// DynamoDBFrom wraps an awsjson client of the DynamoDB service, for a
// caller that configures its own (an HTTP client sized for a test's
// concurrency).
func DynamoDBFrom(c *awsjson.Client) *DynamoDB { return &DynamoDB{c: c} }

func (d *DynamoDB) GetItem(ctx context.Context, in *GetItemInput) (*GetItemOutput, error) {
	out := new(GetItemOutput)
	return out, d.c.Call(ctx, "GetItem", in, out)
}

func (d *DynamoDB) PutItem(ctx context.Context, in *PutItemInput) (*PutItemOutput, error) {
	out := new(PutItemOutput)
	return out, d.c.Call(ctx, "PutItem", in, out)
}

func (d *DynamoDB) DeleteItem(ctx context.Context, in *DeleteItemInput) (*DeleteItemOutput, error) {
	out := new(DeleteItemOutput)
	return out, d.c.Call(ctx, "DeleteItem", in, out)
}

func (d *DynamoDB) BatchGetItem(ctx context.Context, in *BatchGetItemInput) (*BatchGetItemOutput, error) {
	out := new(BatchGetItemOutput)
	return out, d.c.Call(ctx, "BatchGetItem", in, out)
}

func (d *DynamoDB) BatchWriteItem(ctx context.Context, in *BatchWriteItemInput) (*BatchWriteItemOutput, error) {
	out := new(BatchWriteItemOutput)
	return out, d.c.Call(ctx, "BatchWriteItem", in, out)
}

// conditionFailed reports whether err is DynamoDB's refusal of a
// condition, and the refusing record when the refusal carries it.
func conditionFailed(err error) (Item, bool) {
	var e *awsjson.Error
	if !errors.As(err, &e) || e.Code != "ConditionalCheckFailedException" {
		return nil, false
	}
	var body struct{ Item Item }
	_ = e.DecodeBody(&body) // no item: the caller reads the record
	return body.Item, true
}
