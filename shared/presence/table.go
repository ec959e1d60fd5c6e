package presence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/heraldrt/herald/shared/config"
)

// The table's layout: the channel is the partition key; its occupancy is
// the row sorted "#", each member the row "user#<id>". One Query reads a
// channel and its members; one BatchGetItem reads the occupancy of 100
// channels.
const (
	attrChannel = "channel" // partition key
	attrSort    = "sk"      // sort key
	attrState   = "state"
	attrTime    = "t"          // provider time, epoch milliseconds
	attrExpires = "expires_at" // epoch seconds; the table's TTL attribute

	channelSort  = "#"
	memberPrefix = "user#"
	seenPrefix   = "webhook#"

	stateOccupied = "occupied"
	stateVacated  = "vacated"
	statePresent  = "present"
	stateAbsent   = "absent"
)

// DefaultTTL is how long a row outlives its last webhook. A channel that
// stays occupied longer is still occupied: Pusher sends nothing while
// nothing changes, so a row refreshed by no webhook for a day reads as
// vacated. Raise PRESENCE_TTL for channels held open for days.
const DefaultTTL = 24 * time.Hour

// maxBatchGet is DynamoDB's limit of keys per BatchGetItem.
const maxBatchGet = 100

// API is the part of DynamoDB the table uses; *dynamodb.Client is one.
type API interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Config configures a Table.
type Config struct {
	// Name is the DynamoDB table (PRESENCE_TABLE). Required.
	Name string
	// TTL is how long a row outlives its last write (PRESENCE_TTL); zero
	// means DefaultTTL.
	TTL time.Duration
	// Now is the clock expiry is judged by; nil means time.Now.
	Now func() time.Time
}

// Table is the presence table. It is safe for concurrent use.
type Table struct {
	api  API
	name string
	ttl  time.Duration
	now  func() time.Time
}

// New returns the table cfg names, reached through api.
func New(cfg Config, api API) (*Table, error) {
	if cfg.Name == "" {
		return nil, errors.New("presence: PRESENCE_TABLE is empty")
	}
	if cfg.TTL < 0 || (cfg.TTL > 0 && cfg.TTL < time.Second) {
		return nil, fmt.Errorf("presence: PRESENCE_TTL %v must be at least 1s", cfg.TTL)
	}
	t := &Table{api: api, name: cfg.Name, ttl: cfg.TTL, now: cfg.Now}
	if t.ttl == 0 {
		t.ttl = DefaultTTL
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

// FromEnv returns the table PRESENCE_TABLE names (with PRESENCE_TTL),
// through a DynamoDB client from config.AWS; nil, and no error, when
// PRESENCE_TABLE is unset.
func FromEnv(env config.Lookup) (*Table, error) {
	name := env.Get("PRESENCE_TABLE")
	if name == "" {
		return nil, nil
	}
	ttl, err := env.Duration("PRESENCE_TTL")
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	cfg, err := config.AWS(env)
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	return New(Config{Name: name, TTL: ttl}, dynamodb.NewFromConfig(cfg))
}

// Apply writes what e says of its channel or member, unless the row
// already holds something newer: a write at an earlier provider time is
// refused by DynamoDB's condition, and so is the same state at the same
// time (a webhook delivered twice). Events at the same time but with a
// different state apply in the order given: Pusher sends one request's
// events with one time_ms. applied is false for events that change no row
// (client events, refused writes).
func (t *Table) Apply(ctx context.Context, e Event) (applied bool, err error) {
	sort, state, ok := e.changes()
	if !ok || e.Channel == "" {
		return false, nil
	}
	ms := strconv.FormatInt(e.Time.UnixMilli(), 10)
	_, err = t.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(t.name),
		Key:                 key(e.Channel, sort),
		UpdateExpression:    aws.String("SET #s = :s, #t = :t, #e = :e"),
		ConditionExpression: aws.String("attribute_not_exists(#t) OR #t < :t OR (#t = :t AND #s <> :s)"),
		ExpressionAttributeNames: map[string]string{
			"#s": attrState, "#t": attrTime, "#e": attrExpires,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": &types.AttributeValueMemberS{Value: state},
			":t": &types.AttributeValueMemberN{Value: ms},
			":e": t.expiry(),
		},
	})
	var cond *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &cond):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("presence: writing %s of %s to %s: %w", e.Name, e.Channel, t.name, err)
	}
	return true, nil
}

// Occupied reports which of channels have a subscriber, as far as the
// webhooks said: one BatchGetItem per 100 channels. A channel the table
// has never heard of, or whose row expired, is not occupied.
func (t *Table) Occupied(ctx context.Context, channels []string) (map[string]bool, error) {
	out := make(map[string]bool, len(channels))
	uniq := slices.Clone(channels)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	for chunk := range slices.Chunk(uniq, maxBatchGet) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, ch := range chunk {
			keys[i] = key(ch, channelSort)
		}
		req := map[string]types.KeysAndAttributes{t.name: {
			Keys:                     keys,
			ProjectionExpression:     aws.String("#c, #s, #e"),
			ExpressionAttributeNames: map[string]string{"#c": attrChannel, "#s": attrState, "#e": attrExpires},
		}}
		for len(req) > 0 {
			res, err := t.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("presence: reading occupancy from %s: %w", t.name, err)
			}
			for _, item := range res.Responses[t.name] {
				if str(item, attrState) == stateOccupied && t.live(item) {
					out[str(item, attrChannel)] = true
				}
			}
			// The SDK's retryer already backed off on throttling; what is
			// left over is asked for again at once.
			req = res.UnprocessedKeys
			if err := ctx.Err(); err != nil && len(req) > 0 {
				return nil, fmt.Errorf("presence: reading occupancy from %s: %w", t.name, err)
			}
		}
	}
	return out, nil
}

// Members returns the user ids present on channel, sorted.
func (t *Table) Members(ctx context.Context, channel string) ([]string, error) {
	var users []string
	var start map[string]types.AttributeValue
	for {
		res, err := t.api.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(t.name),
			KeyConditionExpression:   aws.String("#c = :c AND begins_with(#k, :p)"),
			ExpressionAttributeNames: map[string]string{"#c": attrChannel, "#k": attrSort},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":c": &types.AttributeValueMemberS{Value: channel},
				":p": &types.AttributeValueMemberS{Value: memberPrefix},
			},
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("presence: reading the members of %s from %s: %w", channel, t.name, err)
		}
		for _, item := range res.Items {
			if str(item, attrState) == statePresent && t.live(item) {
				users = append(users, strings.TrimPrefix(str(item, attrSort), memberPrefix))
			}
		}
		if start = res.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	slices.Sort(users)
	return users, nil
}

// Seen reports whether the webhook request whose digest is id was
// handled already (MarkSeen): a provider's retry of a request that went
// through, which must change nothing.
func (t *Table) Seen(ctx context.Context, id string) (bool, error) {
	res, err := t.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            key(seenPrefix+id, channelSort),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("presence: reading webhook %s from %s: %w", id, t.name, err)
	}
	return res.Item != nil && t.live(res.Item), nil
}

// MarkSeen records that the webhook request whose digest is id was
// handled, for the table's TTL: far longer than providers retry (Pusher
// five minutes, Ably's batches five minutes).
func (t *Table) MarkSeen(ctx context.Context, id string) error {
	item := key(seenPrefix+id, channelSort)
	item[attrExpires] = t.expiry()
	if _, err := t.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.name), Item: item}); err != nil {
		return fmt.Errorf("presence: recording webhook %s in %s: %w", id, t.name, err)
	}
	return nil
}

func key(channel, sort string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrChannel: &types.AttributeValueMemberS{Value: channel},
		attrSort:    &types.AttributeValueMemberS{Value: sort},
	}
}

func (t *Table) expiry() types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.now().Add(t.ttl).Unix(), 10)}
}

// live reports whether item has not expired: DynamoDB deletes expired
// rows only within days, so the code judges expiry itself.
func (t *Table) live(item map[string]types.AttributeValue) bool {
	n, ok := item[attrExpires].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(n.Value, 10, 64)
	return err == nil && t.now().Unix() < sec
}

func str(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// CreateInput is the table as template.yaml declares it (PresenceTable),
// for the local stack and tests; TTL is enabled separately on expires_at.
func CreateInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrChannel), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSort), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrChannel), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSort), KeyType: types.KeyTypeRange},
		},
	}
}

// TTLAttribute is the table's time-to-live attribute.
const TTLAttribute = attrExpires
