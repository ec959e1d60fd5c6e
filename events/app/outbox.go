package app

import (
	"bytes"
	"context"
	"encoding/json/jsontext"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of the DynamoDB client Outbox uses; *dynamodb.Client
// implements it.
type DynamoDB interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Outbox writes events to an outbox table (template.yaml's Outbox, a
// table whose stream the StreamFunction reads in outbox mode) in the same
// transaction as the app's own writes: the event is broadcast if and only
// if the change commits.
type Outbox struct {
	// DynamoDB is the client. Required.
	DynamoDB DynamoDB
	// Table is the outbox table's name (the stack's output
	// OutboxTableName). Required.
	Table string
	// Key is the table's partition key attribute; default "pk".
	Key string
	// TTL, when set, gives each row an "expires_at" (epoch seconds) that
	// far ahead, for the table's TTL to remove sent rows.
	TTL time.Duration
	// Now is the clock for TTL; default time.Now.
	Now func() time.Time
}

// Row is the outbox row of t under key: the envelope's fields as the
// row's attributes, the way the StreamFunction reads them back.
func (o Outbox) Row(key string, t Trigger) (map[string]types.AttributeValue, error) {
	body, err := t.Body()
	if err != nil {
		return nil, err
	}
	v, err := attribute(jsontext.NewDecoder(bytes.NewReader(body)))
	if err != nil {
		return nil, fmt.Errorf("outbox row: %w", err)
	}
	row := v.(*types.AttributeValueMemberM).Value
	row[o.key()] = &types.AttributeValueMemberS{Value: key}
	if o.TTL > 0 {
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		row["expires_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now().Add(o.TTL).Unix(), 10)}
	}
	return row, nil
}

// Write commits the app's writes and the outbox row of t (under key,
// unique per event) in one TransactWriteItems call: both or neither. A
// row with the same key already in the outbox fails the transaction, so
// a retried request cannot broadcast twice.
func (o Outbox) Write(ctx context.Context, key string, t Trigger, writes ...types.TransactWriteItem) error {
	row, err := o.Row(key, t)
	if err != nil {
		return err
	}
	put := types.TransactWriteItem{Put: &types.Put{
		TableName:                &o.Table,
		Item:                     row,
		ConditionExpression:      stringPtr("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": o.key()},
	}}
	items := append(writes[:len(writes):len(writes)], put)
	if _, err := o.DynamoDB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return fmt.Errorf("app: outbox %s: writing %q: %w", o.Table, key, err)
	}
	return nil
}

func (o Outbox) key() string {
	if o.Key == "" {
		return "pk"
	}
	return o.Key
}

func stringPtr(s string) *string { return &s }

// attribute converts the next JSON value into a DynamoDB attribute value.
// Numbers keep the digits they were written with (N is a decimal string),
// which a conversion through float64 would not.
func attribute(dec *jsontext.Decoder) (types.AttributeValue, error) {
	if dec.PeekKind() == '0' {
		v, err := dec.ReadValue()
		return &types.AttributeValueMemberN{Value: string(v)}, err
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case 't', 'f':
		return &types.AttributeValueMemberBOOL{Value: tok.Bool()}, nil
	case '"':
		return &types.AttributeValueMemberS{Value: tok.String()}, nil
	case '[':
		l := []types.AttributeValue{}
		for dec.PeekKind() != ']' {
			v, err := attribute(dec)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err := dec.ReadToken()
		return &types.AttributeValueMemberL{Value: l}, err
	case '{':
		m := map[string]types.AttributeValue{}
		for dec.PeekKind() != '}' {
			k, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			name := k.String() // before the next read invalidates k
			v, err := attribute(dec)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
		_, err := dec.ReadToken()
		return &types.AttributeValueMemberM{Value: m}, err
	}
	return nil, fmt.Errorf("unexpected JSON %v", tok.Kind())
}
