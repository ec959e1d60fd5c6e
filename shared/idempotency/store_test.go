package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/heraldrt/herald/infra/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// client is the SDK's DynamoDB client of moto, as a function builds it
// (dynamodb.NewFromConfig), with the SDK's standard retryer making at most
// attempts attempts.
func client(t testing.TB, attempts int) *dynamodb.Client {
	return clientAt(t, testkit.Moto(t).Endpoint, attempts)
}

// clientAt is the same client for another endpoint: a proxy in front of
// moto, or a port nothing listens on.
func clientAt(t testing.TB, endpoint string, attempts int) *dynamodb.Client {
	cfg := testkit.AWSConfig(testkit.Moto(t))
	cfg.BaseEndpoint = aws.String(endpoint)
	cfg.RetryMaxAttempts = attempts
	return dynamodb.NewFromConfig(cfg)
}

// createTable makes a fresh table shaped as the template's IdempotencyTable
// (id the partition key, TTL on expiration), so each test starts empty.
func createTable(t testing.TB, db *dynamodb.Client) string {
	t.Helper()
	name := testkit.UniqueName(t, "idem")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrID), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrID), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 200*time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("table %s not active: %v", name, err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrExpiration), Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatalf("UpdateTimeToLive %s: %v", name, err)
	}
	return name
}

// clock is a settable Config.Now shared by the stores of one test.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

func newStore(t testing.TB, db API, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg, db)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func wantStatuses(t *testing.T, got []Status, want ...Status) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", got, want)
		}
	}
}

func mustClaim(t *testing.T, s *Store, ctx context.Context, keys ...string) []Status {
	t.Helper()
	got, err := s.Claim(ctx, keys)
	if err != nil {
		t.Fatalf("Claim(%v): %v", keys, err)
	}
	return got
}

// TestStore runs every case against moto, with and without the
// BatchGetItem prefetch: both paths must decide alike.
func TestStore(t *testing.T) {
	db := client(t, 3)
	for _, prefetch := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefetch=%v", prefetch), func(t *testing.T) {
			t.Parallel()
			storeCases(t, db, prefetch)
		})
	}
}

func storeCases(t *testing.T, db *dynamodb.Client, prefetch bool) {
	// setup gives a case its own table and a clock its stores share.
	setup := func(t *testing.T) (func(Config) *Store, *clock) {
		table := createTable(t, db)
		clk := &clock{}
		return func(cfg Config) *Store {
			cfg.Table, cfg.NoPrefetch, cfg.Now = table, !prefetch, clk.Now
			return newStore(t, db, cfg)
		}, clk
	}

	t.Run("first of concurrent claimers wins", func(t *testing.T) {
		t.Parallel()
		// DynamoDB applies the writes to one item one at a time; moto's
		// threads evaluate a condition and write without a lock. The
		// proxy forwards one write at a time, as DynamoDB applies them,
		// so that what is tested is how the store reads the outcome.
		table := createTable(t, db)
		proxy := newDynamoProxy(t, proxyConfig{serialWrites: true})
		proxied := clientAt(t, proxy.URL, 3)
		store := func(Config) *Store {
			return newStore(t, proxied, Config{Table: table, NoPrefetch: !prefetch})
		}
		const claimers, nkeys = 8, 40
		keys := make([]string, nkeys)
		for i := range keys {
			keys[i] = fmt.Sprintf("msg-%d", i)
		}
		ctx := ctxFor(t, time.Minute)
		results := make([][]Status, claimers)
		errs := make([]error, claimers)
		stores := make([]*Store, claimers)
		for c := range stores {
			stores[c] = store(Config{})
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for c := range claimers {
			wg.Go(func() {
				<-start
				results[c], errs[c] = stores[c].Claim(ctx, keys)
			})
		}
		close(start)
		wg.Wait()
		for c, err := range errs {
			if err != nil {
				t.Fatalf("claimer %d: %v", c, err)
			}
		}
		for k := range keys {
			claimed := 0
			for c := range claimers {
				switch results[c][k] {
				case Claimed:
					claimed++
				case InProgress:
				default:
					t.Fatalf("claimer %d, key %s: %v", c, keys[k], results[c][k])
				}
			}
			if claimed != 1 {
				t.Fatalf("key %s claimed by %d claimers, want exactly 1", keys[k], claimed)
			}
		}
	})

	t.Run("completed key is a no-op", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b := store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		wantStatuses(t, mustClaim(t, a, ctx, "k1", "k2"), Claimed, Claimed)
		if err := a.Complete(ctx, []string{"k1"}); err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, mustClaim(t, b, ctx, "k1", "k2", "k3"), Completed, InProgress, Claimed)
		// The completing store itself gets the same answer.
		wantStatuses(t, mustClaim(t, a, ctx, "k1"), Completed)
	})

	t.Run("in-progress key is reported, not claimed", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b := store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		wantStatuses(t, mustClaim(t, a, ctx, "k"), Claimed)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), InProgress)
		wantStatuses(t, mustClaim(t, a, ctx, "k"), InProgress)
	})

	t.Run("repeated key in one call is claimed once", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a := store(Config{})
		ctx := ctxFor(t, time.Minute)
		wantStatuses(t, mustClaim(t, a, ctx, "k", "j", "k"), Claimed, Claimed, InProgress)
	})

	t.Run("expired in-progress claim can be reclaimed", func(t *testing.T) {
		t.Parallel()
		store, clk := setup(t)
		a, b := store(Config{}), store(Config{})
		// a's invocation has a minute left; its claim lasts that long.
		wantStatuses(t, mustClaim(t, a, ctxFor(t, time.Minute), "k"), Claimed)
		ctx := ctxFor(t, time.Minute)
		clk.Advance(50 * time.Second)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), InProgress)
		clk.Advance(15 * time.Second)
		// b's invocation ends later than a's did, by the moved clock too.
		ctx = ctxFor(t, 10*time.Minute)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), Claimed)
		// The new holder's claim is live again for everyone else.
		wantStatuses(t, mustClaim(t, a, ctx, "k"), InProgress)
	})

	t.Run("claim without deadline lasts MaxInProgress", func(t *testing.T) {
		t.Parallel()
		store, clk := setup(t)
		a, b := store(Config{MaxInProgress: 5 * time.Minute}), store(Config{})
		ctx := context.Background()
		wantStatuses(t, mustClaim(t, a, ctx, "k"), Claimed)
		clk.Advance(4 * time.Minute)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), InProgress)
		clk.Advance(2 * time.Minute)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), Claimed)
	})

	t.Run("short TTL does not cut a claim short", func(t *testing.T) {
		t.Parallel()
		store, clk := setup(t)
		a, b := store(Config{TTL: time.Minute, MaxInProgress: 5 * time.Minute}), store(Config{})
		ctx := context.Background()
		wantStatuses(t, mustClaim(t, a, ctx, "k"), Claimed)
		clk.Advance(4 * time.Minute)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), InProgress)
		clk.Advance(2 * time.Minute)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), Claimed)
	})

	t.Run("expired completed key can be reclaimed", func(t *testing.T) {
		t.Parallel()
		store, clk := setup(t)
		a, b := store(Config{TTL: 10 * time.Minute}), store(Config{})
		// No deadline: the claims last MaxInProgress by the moved clock.
		ctx := context.Background()
		wantStatuses(t, mustClaim(t, a, ctx, "k"), Claimed)
		if err := a.Complete(ctx, []string{"k"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(9 * time.Minute)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), Completed)
		clk.Advance(2 * time.Minute)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), Claimed)
	})

	t.Run("release lets a retry claim", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b := store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		wantStatuses(t, mustClaim(t, a, ctx, "k1", "k2"), Claimed, Claimed)
		if err := a.Release(ctx, []string{"k1"}); err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, mustClaim(t, b, ctx, "k1", "k2"), Claimed, InProgress)
	})

	t.Run("release of another store's claim is refused", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b, c := store(Config{}), store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		wantStatuses(t, mustClaim(t, a, ctx, "k"), Claimed)
		err := b.Release(ctx, []string{"k"})
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrNotHeld) || e.Op != "release" || e.Key != "k" || e.Temporary {
			t.Fatalf("Release by another store: %v, want a permanent *Error wrapping ErrNotHeld for k", err)
		}
		wantStatuses(t, mustClaim(t, c, ctx, "k"), InProgress)
	})

	t.Run("release after completion is refused", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b := store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		wantStatuses(t, mustClaim(t, a, ctx, "k"), Claimed)
		if err := a.Complete(ctx, []string{"k"}); err != nil {
			t.Fatal(err)
		}
		if err := a.Release(ctx, []string{"k"}); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release of a completed key: %v, want ErrNotHeld", err)
		}
		wantStatuses(t, mustClaim(t, b, ctx, "k"), Completed)
	})

	t.Run("mixed batch", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b := store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		// 250 keys span three BatchGetItem requests and ten BatchWriteItem
		// requests.
		const n = 250
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("m-%03d", i)
		}
		got := mustClaim(t, a, ctx, keys...)
		for i, st := range got {
			if st != Claimed {
				t.Fatalf("key %s: %v", keys[i], st)
			}
		}
		var done, failed []string
		for i, k := range keys {
			switch i % 3 {
			case 0:
				done = append(done, k)
			case 1:
				failed = append(failed, k)
			}
		}
		if err := a.Complete(ctx, done); err != nil {
			t.Fatal(err)
		}
		if err := a.Release(ctx, failed); err != nil {
			t.Fatal(err)
		}
		got = mustClaim(t, b, ctx, keys...)
		for i, st := range got {
			want := []Status{Completed, Claimed, InProgress}[i%3]
			if st != want {
				t.Fatalf("key %s: %v, want %v", keys[i], st, want)
			}
		}
	})

	t.Run("namespaces keep keys apart", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b := store(Config{Namespace: "one"}), store(Config{Namespace: "two"})
		ctx := ctxFor(t, time.Minute)
		wantStatuses(t, mustClaim(t, a, ctx, "k"), Claimed)
		wantStatuses(t, mustClaim(t, b, ctx, "k"), Claimed)
		wantStatuses(t, mustClaim(t, store(Config{Namespace: "one"}), ctx, "k"), InProgress)
	})

	t.Run("long keys", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a, b := store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		long := strings.Repeat("x", 3000)
		longer := long + "y"
		wantStatuses(t, mustClaim(t, a, ctx, long, longer), Claimed, Claimed)
		if err := a.Complete(ctx, []string{long}); err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, mustClaim(t, b, ctx, long, longer), Completed, InProgress)
	})

	t.Run("ended invocation claims nothing", func(t *testing.T) {
		t.Parallel()
		store, clk := setup(t)
		a, b := store(Config{}), store(Config{})
		ctx := ctxFor(t, time.Minute)
		// By the store's clock the deadline passed: a claim written now
		// would be expired already and protect nothing.
		clk.Advance(2 * time.Minute)
		got, err := a.Claim(ctx, []string{"k"})
		wantStatuses(t, got, Unavailable)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		wantStatuses(t, mustClaim(t, b, context.Background(), "k"), Claimed)
	})

	t.Run("empty key is undecided", func(t *testing.T) {
		t.Parallel()
		store, _ := setup(t)
		a := store(Config{})
		got, err := a.Claim(ctxFor(t, time.Minute), []string{"k", ""})
		wantStatuses(t, got, Claimed, Unavailable)
		var e *Error
		if !errors.As(err, &e) || e.Failed != 1 || e.Key != "" {
			t.Fatalf("err = %v, want one failure for the empty key", err)
		}
	})
}

func TestOffStore(t *testing.T) {
	s, err := New(Config{}, nil)
	if err != nil || s != nil {
		t.Fatalf("New(off) = %v, %v; want nil, nil", s, err)
	}
	got, err := s.Claim(context.Background(), []string{"a", "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	// Off means at-least-once: every item is broadcast, repeats included.
	wantStatuses(t, got, Claimed, Claimed, Claimed)
	if err := s.Complete(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check of the off store: %v", err)
	}
}

func TestNewNeedsClient(t *testing.T) {
	if _, err := New(Config{Table: "herald-idempotency"}, nil); err == nil || !strings.Contains(err.Error(), "herald-idempotency") {
		t.Fatalf("New without client: %v", err)
	}
}

func TestClassify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	n, s := num, str
	later, earlier := now.Unix()+60, now.Unix()-60
	cases := []struct {
		name string
		item record
		want Status
	}{
		{"absent", nil, Unavailable},
		{"completed", record{attrStatus: s(statusCompleted), attrExpiration: n(later)}, Completed},
		{"completed, TTL passed", record{attrStatus: s(statusCompleted), attrExpiration: n(earlier)}, Unavailable},
		{"completed, expires this second", record{attrStatus: s(statusCompleted), attrExpiration: n(now.Unix())}, Completed},
		{"in progress", record{attrStatus: s(statusInProgress), attrExpiration: n(later), attrInProgress: n(now.UnixMilli() + 1)}, InProgress},
		{"in progress, claim expired", record{attrStatus: s(statusInProgress), attrExpiration: n(later), attrInProgress: n(now.UnixMilli() - 1)}, Unavailable},
		{"in progress without claim expiry", record{attrStatus: s(statusInProgress), attrExpiration: n(later)}, InProgress},
		{"unknown status", record{attrStatus: s("EXPIRED"), attrExpiration: n(later)}, Unavailable},
		{"no status", record{attrExpiration: n(later)}, Unavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := classify(c.item, now); got != c.want {
				t.Fatalf("classify = %v, want %v", got, c.want)
			}
		})
	}
}

// TestRecordExpiry checks the record against the table's TTL: moto accepts
// TTL on the attribute the store writes, and the store writes it as a
// number of epoch seconds (what DynamoDB's TTL reads), the claim's end in
// epoch milliseconds beside it.
func TestRecordExpiry(t *testing.T) {
	db := client(t, 3)
	table := createTable(t, db)
	ctx := ctxFor(t, time.Minute)
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != attrExpiration || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Fatalf("TTL = %+v, want enabled on %s", d, attrExpiration)
	}

	now := time.Unix(time.Now().Unix(), 0) // a whole second, as stored
	s := newStore(t, db, Config{Table: table, TTL: 2 * time.Hour, Now: func() time.Time { return now }})
	stored := func() record {
		t.Helper()
		got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: record{attrID: str("k")}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return got.Item
	}
	seconds := func(item record, attr string) int64 {
		t.Helper()
		n, ok := item[attr].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("%s = %#v, want a number", attr, item[attr])
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			t.Fatalf("%s = %q, want an integer", attr, n.Value)
		}
		return v
	}

	wantStatuses(t, mustClaim(t, s, ctx, "k"), Claimed)
	claim := stored()
	deadline, _ := ctx.Deadline()
	if got, want := seconds(claim, attrExpiration), now.Add(2*time.Hour).Unix(); got != want {
		t.Fatalf("claim's %s = %d, want %d (now + TTL, in seconds)", attrExpiration, got, want)
	}
	if got, want := seconds(claim, attrInProgress), deadline.UnixMilli(); got != want {
		t.Fatalf("claim's %s = %d, want %d (the deadline, in milliseconds)", attrInProgress, got, want)
	}
	if stringOf(claim[attrStatus]) != statusInProgress || stringOf(claim[attrOwner]) != s.owner {
		t.Fatalf("claim = %v", claim)
	}

	if err := s.Complete(ctx, []string{"k"}); err != nil {
		t.Fatal(err)
	}
	done := stored()
	if got, want := seconds(done, attrExpiration), now.Add(2*time.Hour).Unix(); got != want {
		t.Fatalf("completed %s = %d, want %d", attrExpiration, got, want)
	}
	if stringOf(done[attrStatus]) != statusCompleted {
		t.Fatalf("completed record = %v", done)
	}
}
