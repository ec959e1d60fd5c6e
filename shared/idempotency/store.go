package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Status is what Claim decided for one key.
type Status uint8

const (
	// Unavailable: the store could not decide (DynamoDB failed or ctx
	// ended). Do not broadcast; report the item as a temporary failure so
	// it is retried. It is the zero value, so a status never set never
	// leads to a broadcast.
	Unavailable Status = iota
	// Claimed: the key is this caller's until the invocation's deadline.
	// Broadcast, then Complete on success or Release on failure.
	Claimed
	// Completed: the key was broadcast already. Skip it and report success.
	Completed
	// InProgress: another invocation holds the key, or the key came twice
	// in one call. Do not broadcast; report the item as a temporary
	// failure, so it is retried after the holder finished.
	InProgress
)

func (s Status) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Completed:
		return "completed"
	case InProgress:
		return "in progress"
	default:
		return "unavailable"
	}
}

// The record's attributes. The names follow Powertools' DynamoDB layout,
// so a table can be inspected with the same habits.
const (
	attrID         = "id"
	attrStatus     = "status"
	attrExpiration = "expiration"             // epoch seconds; the table's TTL attribute
	attrInProgress = "in_progress_expiration" // epoch milliseconds
	attrOwner      = "owner"

	statusInProgress = "INPROGRESS"
	statusCompleted  = "COMPLETED"
)

// Conditions, with the attribute names bound in names: reserved words
// (status) cannot appear bare in an expression.
const (
	// A key may be claimed when no record exists, when its TTL passed (the
	// table's TTL deletes lazily, and moto never does), or when an
	// in-progress claim outlived its invocation.
	claimCondition = "attribute_not_exists(#id) OR #exp < :now OR (#st = :inprogress AND #ipexp < :nowms)"
	// A release deletes only a claim this Store still holds.
	releaseCondition = "#owner = :owner AND #st = :inprogress"
)

// maxIDBytes keeps stored ids well under DynamoDB's 2048-byte partition
// key limit; longer keys are stored by their SHA-256.
const maxIDBytes = 1024

// DynamoDB's per-request item limits.
const (
	batchGetMax   = 100
	batchWriteMax = 25
)

// Store is a DynamoDB-backed idempotency store. A nil *Store is valid and
// means off: every key is Claimed and Complete and Release do nothing.
//
// A Store is one claimant: Release deletes only claims made through the
// same Store. Build one per process at init, as with the DynamoDB client.
// It is safe for concurrent use.
type Store struct {
	cfg   Config
	db    API
	owner string
}

// New returns a Store for cfg using db. When cfg is off (no table) it
// returns nil, nil: a nil *Store is the off store, and db may be nil.
func New(cfg Config, db API) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, nil
	}
	if db == nil {
		return nil, fmt.Errorf("idempotency: table %s: no DynamoDB client", cfg.Table)
	}
	var b [16]byte
	rand.Read(b[:])
	return &Store{cfg: cfg.withDefaults(), db: db, owner: hex.EncodeToString(b[:])}, nil
}

// Check reads one item of the table, so that a table that does not exist,
// or that the function's role may not read, is found at start-up rather
// than on every message. It writes nothing; a nil Store checks nothing.
func (s *Store) Check(ctx context.Context) error {
	if s == nil {
		return nil
	}
	_, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.cfg.Table),
		Key:                      record{attrID: str("herald#check")},
		ProjectionExpression:     aws.String("#id"),
		ExpressionAttributeNames: map[string]string{"#id": attrID},
	})
	if err != nil {
		return &Error{Op: "check", Table: s.cfg.Table, Err: err, Temporary: temporary(err)}
	}
	return nil
}

// Claim decides, for each key, whether the caller may broadcast it; the
// result has one Status per key, in order. Keys claimed here expire at ctx's
// deadline (the invocation's end), so a claim whose holder died is claimable
// again once that invocation is surely over.
//
// err is nil when every key got a decision. Otherwise it is an *Error
// naming the first key the store could not decide and how many there were;
// those keys are Unavailable and the rest are still decided. A key given
// twice is decided once: later copies are InProgress.
func (s *Store) Claim(ctx context.Context, keys []string) ([]Status, error) {
	out := make([]Status, len(keys))
	if s == nil {
		for i := range out {
			out[i] = Claimed
		}
		return out, nil
	}
	if len(keys) == 0 {
		return out, nil
	}
	now := s.cfg.Now()
	until := now.Add(s.cfg.MaxInProgress)
	if d, ok := ctx.Deadline(); ok && d.Before(until) {
		until = d
	}
	if !until.After(now) {
		// A claim born expired protects nothing; the invocation is over.
		// Every status is still the zero Unavailable.
		return out, &Error{Op: "claim", Table: s.cfg.Table, Key: keys[0], Failed: len(keys), Temporary: true, Err: context.DeadlineExceeded}
	}
	// The record's TTL must not end the claim early: a TTL shorter than
	// the invocation would let a second claimer in while the first still
	// broadcasts.
	exp := max(now.Add(s.cfg.TTL).Unix(), until.Unix()+1)
	c := claimValues{
		exp:   num(exp),
		until: num(until.UnixMilli()),
		names: map[string]string{"#id": attrID, "#exp": attrExpiration, "#st": attrStatus, "#ipexp": attrInProgress},
		values: record{
			":now":        num(now.Unix()),
			":nowms":      num(now.UnixMilli()),
			":inprogress": str(statusInProgress),
		},
	}

	ids, pending := s.uniqueIDs(keys)
	errs := make([]error, len(keys))
	for i, k := range keys {
		switch {
		case k == "":
			errs[i] = errEmptyKey
		case ids[i] == "":
			// A repeat waits for the first's holder like any other
			// in-progress key.
			out[i] = InProgress
		}
	}

	if !s.cfg.NoPrefetch {
		pending = s.prefetch(ctx, ids, pending, out, now)
	}
	parallel(len(pending), s.cfg.Concurrency, func(j int) {
		i := pending[j]
		out[i], errs[i] = s.claim(ctx, ids[i], &c, now)
	})
	return out, s.errorOf("claim", keys, errs)
}

// claimValues are what one Claim call writes and compares, built once and
// shared by its requests (they are only read).
type claimValues struct {
	exp, until types.AttributeValue
	names      map[string]string
	values     record
}

// claim claims one key with a conditional PutItem. A refusal is classified
// by the record it met; should that record have gone in between (released,
// or expired), the put is tried again.
func (s *Store) claim(ctx context.Context, id string, c *claimValues, now time.Time) (Status, error) {
	in := &dynamodb.PutItemInput{
		TableName: aws.String(s.cfg.Table),
		Item: record{
			attrID:         str(id),
			attrStatus:     str(statusInProgress),
			attrExpiration: c.exp,
			attrInProgress: c.until,
			attrOwner:      str(s.owner),
		},
		ConditionExpression:       aws.String(claimCondition),
		ExpressionAttributeNames:  c.names,
		ExpressionAttributeValues: c.values,
		// DynamoDB returns the record that refused the write, which saves
		// a read; where a refusal comes without it, the read is made.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	const attempts = 3
	for range attempts {
		_, err := s.db.PutItem(ctx, in)
		if err == nil {
			return Claimed, nil
		}
		item, refused := conditionFailed(err)
		if !refused {
			return Unavailable, err
		}
		if len(item) == 0 {
			got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
				TableName:      aws.String(s.cfg.Table),
				Key:            record{attrID: str(id)},
				ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				return Unavailable, err
			}
			item = got.Item
		}
		if st := classify(item, now); st != Unavailable {
			return st, nil
		}
	}
	return Unavailable, fmt.Errorf("%w under %d claims in a row", errContended, attempts)
}

// classify says what a stored record means at now: Completed or InProgress
// while it lasts, Unavailable when there is none or it expired (the key may
// be claimed). now is this host's clock and the record's times another's:
// skew of milliseconds shifts when an abandoned claim is reclaimable.
func classify(item record, now time.Time) Status {
	if len(item) == 0 {
		return Unavailable
	}
	if exp, ok := numberOf(item[attrExpiration]); ok && exp < now.Unix() {
		return Unavailable
	}
	switch stringOf(item[attrStatus]) {
	case statusCompleted:
		return Completed
	case statusInProgress:
		if until, ok := numberOf(item[attrInProgress]); ok && until < now.UnixMilli() {
			return Unavailable
		}
		return InProgress
	}
	return Unavailable
}

// prefetch reads the pending keys in BatchGetItem requests, settles those
// whose live record already decides them, and returns the rest. A failed
// read settles nothing: the conditional write decides those keys anyway.
func (s *Store) prefetch(ctx context.Context, ids []string, pending []int, out []Status, now time.Time) []int {
	parts := slices.Collect(slices.Chunk(pending, batchGetMax))
	parallel(len(parts), s.cfg.Concurrency, func(c int) {
		part := parts[c]
		byID := make(map[string]int, len(part))
		keys := make([]record, len(part))
		for j, i := range part {
			byID[ids[i]] = i
			keys[j] = record{attrID: str(ids[i])}
		}
		req := map[string]types.KeysAndAttributes{s.cfg.Table: {
			Keys:                     keys,
			ConsistentRead:           aws.Bool(true),
			ProjectionExpression:     aws.String("#id, #st, #exp, #ipexp"),
			ExpressionAttributeNames: map[string]string{"#id": attrID, "#st": attrStatus, "#exp": attrExpiration, "#ipexp": attrInProgress},
		}}
		for len(req) > 0 && ctx.Err() == nil {
			got, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return
			}
			for _, item := range got.Responses[s.cfg.Table] {
				if i, ok := byID[stringOf(item[attrID])]; ok {
					out[i] = classify(item, now)
				}
			}
			req = got.UnprocessedKeys
		}
	})
	rest := pending[:0]
	for _, i := range pending {
		if out[i] == Unavailable {
			rest = append(rest, i)
		}
	}
	return rest
}

// Complete marks keys as broadcast: each becomes a COMPLETED record that
// expires after the TTL, making later deliveries no-ops. Pass exactly the
// keys Claim returned Claimed for and that were broadcast.
//
// The write is unconditional (BatchWriteItem, 25 a request): should this
// claim have expired and been taken over, the key is still marked done,
// which stops any further broadcast of it. A key Complete fails to mark
// stays in progress until its claim expires and may then be broadcast
// again; err names it.
func (s *Store) Complete(ctx context.Context, keys []string) error {
	if s == nil || len(keys) == 0 {
		return nil
	}
	ids, first := s.uniqueIDs(keys)
	exp := num(s.cfg.Now().Add(s.cfg.TTL).Unix())
	completed := str(statusCompleted)
	errs := make([]error, len(keys))
	parts := slices.Collect(slices.Chunk(first, batchWriteMax))
	parallel(len(parts), s.cfg.Concurrency, func(c int) {
		writes := make([]types.WriteRequest, 0, len(parts[c]))
		for _, i := range parts[c] {
			writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: record{
				attrID:         str(ids[i]),
				attrStatus:     completed,
				attrExpiration: exp,
			}}})
		}
		left, err := s.writeAll(ctx, writes)
		if err == nil {
			return
		}
		// Blame the keys whose writes are still unprocessed.
		unsent := make(map[string]bool, len(left))
		for _, w := range left {
			if w.PutRequest != nil {
				unsent[stringOf(w.PutRequest.Item[attrID])] = true
			}
		}
		for _, i := range parts[c] {
			if unsent[ids[i]] {
				errs[i] = err
			}
		}
	})
	return s.errorOf("complete", keys, errs)
}

// writeAll sends writes with BatchWriteItem, re-sending what DynamoDB left
// unprocessed (it does under throttling) with a growing pause, until all
// are written or ctx ends. It returns what was not written and why.
func (s *Store) writeAll(ctx context.Context, writes []types.WriteRequest) ([]types.WriteRequest, error) {
	pause := 10 * time.Millisecond
	for {
		got, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.cfg.Table: writes},
		})
		if err != nil {
			return writes, err
		}
		writes = got.UnprocessedItems[s.cfg.Table]
		if len(writes) == 0 {
			return nil, nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return writes, fmt.Errorf("left unprocessed by DynamoDB: %w", ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, time.Second)
	}
}

// ErrNotHeld is wrapped by Release's error for a key this Store does not
// hold in progress: claimed by someone else, completed, or gone.
var ErrNotHeld = errors.New("not held in progress by this store")

// Release gives up claims after a failed broadcast, so a retry can claim
// the keys at once instead of waiting for the claims to expire. Each delete
// is conditional on the record still being this Store's in-progress claim;
// keys it does not hold are left alone and reported with ErrNotHeld. A key
// Release fails to delete stays claimed until its claim expires.
func (s *Store) Release(ctx context.Context, keys []string) error {
	if s == nil || len(keys) == 0 {
		return nil
	}
	ids, first := s.uniqueIDs(keys)
	errs := make([]error, len(keys))
	names := map[string]string{"#owner": attrOwner, "#st": attrStatus}
	values := record{
		":owner":      str(s.owner),
		":inprogress": str(statusInProgress),
	}
	parallel(len(first), s.cfg.Concurrency, func(j int) {
		i := first[j]
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 aws.String(s.cfg.Table),
			Key:                       record{attrID: str(ids[i])},
			ConditionExpression:       aws.String(releaseCondition),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		})
		if _, refused := conditionFailed(err); refused {
			err = ErrNotHeld
		}
		errs[i] = err
	})
	return s.errorOf("release", keys, errs)
}

// id is the stored form of key: namespaced, and hashed when too long for a
// partition key.
func (s *Store) id(key string) string {
	id := key
	if s.cfg.Namespace != "" {
		id = s.cfg.Namespace + "#" + key
	}
	if len(id) > maxIDBytes {
		sum := sha256.Sum256([]byte(key))
		id = s.cfg.Namespace + "#sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

// uniqueIDs returns, by position in keys, the stored id of each distinct
// non-empty key's first occurrence ("" for repeats and empty keys), and
// those positions.
func (s *Store) uniqueIDs(keys []string) (ids []string, first []int) {
	ids = make([]string, len(keys))
	seen := make(map[string]struct{}, len(keys))
	for i, k := range keys {
		if _, dup := seen[k]; dup || k == "" {
			continue
		}
		seen[k] = struct{}{}
		ids[i] = s.id(k)
		first = append(first, i)
	}
	return ids, first
}

// errorOf sums up per-key failures as one *Error, nil when there are none.
func (s *Store) errorOf(op string, keys []string, errs []error) error {
	i := slices.IndexFunc(errs, func(err error) bool { return err != nil })
	if i < 0 {
		return nil
	}
	e := &Error{Op: op, Table: s.cfg.Table, Key: keys[i], Err: errs[i], Temporary: temporary(errs[i])}
	for _, err := range errs[i:] {
		if err != nil {
			e.Failed++
		}
	}
	return e
}
