package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/signature"
)

// Replay protection settings.
const (
	EnvReplayWindow = "PUBLISH_REPLAY_WINDOW"
	envReplayTable  = "IDEMPOTENCY_TABLE"
)

// replayKeyPrefix sets the records apart from the idempotency store's in
// the table they share: those are keyed by event ids (with
// IDEMPOTENCY_NAMESPACE's prefix when set), these by signatures.
const replayKeyPrefix = "publish-replay#"

// errReplayed is the answer to a signature already seen.
var errReplayed = errors.New("replayed request")

// replayGuard refuses a signed request whose auth_signature it has seen
// within the window. Pusher accepts a signed request again and again for
// 600 s on either side of its auth_timestamp; with a window W, herald
// accepts it once, and only while its auth_timestamp is at most W old, so
// remembering each signature until auth_timestamp + W covers every moment
// it would still verify.
//
// The record is a conditional PutItem in the idempotency table (key id,
// "publish-replay#" + the signature; expiration, epoch seconds, the
// table's TTL attribute): it succeeds only when no record exists or the
// one there has expired, since DynamoDB's TTL deletes late. A nil
// *replayGuard accepts everything.
type replayGuard struct {
	db     *dynamodb.Client
	table  string
	window time.Duration
}

// replayFromEnv builds the guard PUBLISH_REPLAY_WINDOW asks for (nil when
// unset), on IDEMPOTENCY_TABLE.
func replayFromEnv(env config.Lookup) (*replayGuard, error) {
	window, err := env.Duration(EnvReplayWindow)
	if err != nil || window == 0 {
		return nil, err
	}
	if window < time.Second || window > signature.MaxClockSkew || window%time.Second != 0 {
		return nil, fmt.Errorf("publish: %s %v must be whole seconds from 1s to %v (beyond that signatures expire anyway)", EnvReplayWindow, window, signature.MaxClockSkew)
	}
	table := env.Get(envReplayTable)
	if table == "" {
		return nil, fmt.Errorf("publish: %s needs %s, where the signatures seen are kept", EnvReplayWindow, envReplayTable)
	}
	awsCfg, err := config.AWS(env)
	if err != nil {
		return nil, fmt.Errorf("publish: %s: %w", EnvReplayWindow, err)
	}
	return &replayGuard{db: dynamodb.NewFromConfig(awsCfg), table: table, window: window}, nil
}

// check records a verified request's signature, or answers why not: 401
// for a replay or an auth_timestamp older than the window, 503 when the
// table cannot say (a request that cannot be checked is not accepted).
// Only requests that change something are checked: a replayed query
// reads again what its first answer said.
func (g *replayGuard) check(ctx context.Context, method string, query url.Values, now time.Time) (int, error) {
	if g == nil || method == http.MethodGet {
		return 0, nil
	}
	// VerifyRequest has checked both: one signature, a whole number.
	sig := query.Get("auth_signature")
	ts, err := strconv.ParseInt(query.Get("auth_timestamp"), 10, 64)
	if err != nil {
		return http.StatusUnauthorized, signature.ErrBadTimestamp
	}
	if now.Unix()-ts > int64(g.window/time.Second) {
		return http.StatusUnauthorized, fmt.Errorf("auth_timestamp is more than %s (%v) old", EnvReplayWindow, g.window)
	}
	_, err = g.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(g.table),
		Item: map[string]types.AttributeValue{
			"id":         &types.AttributeValueMemberS{Value: replayKeyPrefix + sig},
			"expiration": &types.AttributeValueMemberN{Value: strconv.FormatInt(ts+int64(g.window/time.Second), 10)},
		},
		ConditionExpression:       aws.String("attribute_not_exists(id) OR expiration < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}},
	})
	var seen *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &seen):
		return http.StatusUnauthorized, errReplayed
	case err != nil:
		return http.StatusServiceUnavailable, fmt.Errorf("checking the request for replay on %s: %w; try again", envReplayTable, err)
	}
	return 0, nil
}
