package idempotency

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// counting counts the requests a Store sends, to compare strategies by
// what DynamoDB bills as well as by time.
type counting struct {
	API
	n atomic.Int64
}

func (c *counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.n.Add(1)
	return c.API.PutItem(ctx, in, opts...)
}

func (c *counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.API.GetItem(ctx, in, opts...)
}

func (c *counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchGetItem(ctx, in, opts...)
}

// BenchmarkClaim_1000Keys claims 1,000 keys per op against moto, new ones
// (a first delivery) and completed ones (a redelivery), with and without
// the BatchGetItem prefetch, at two concurrencies. The SDK's client keeps
// 10 idle connections per host (awshttp's default), so at concurrency 32
// some requests open new ones.
//
// moto is one Python process and answers each request in milliseconds, so
// the time per op measures moto more than the store; requests/op is the
// figure that carries over to DynamoDB (and to its bill), B/op and
// allocs/op the client's own cost.
func BenchmarkClaim_1000Keys(b *testing.B) {
	db := client(b, 3)
	const n = 1000
	for _, conc := range []int{10, 32} {
		for _, prefetch := range []bool{false, true} {
			for _, redelivery := range []bool{false, true} {
				kind := "new"
				if redelivery {
					kind = "completed"
				}
				name := fmt.Sprintf("%s/prefetch=%v/concurrency=%d", kind, prefetch, conc)
				b.Run(name, func(b *testing.B) {
					api := &counting{API: db}
					s := newStore(b, api, Config{Table: createTable(b, db), NoPrefetch: !prefetch, Concurrency: conc})
					ctx := context.Background()
					keys := make([]string, n)
					round := 0
					fill := func() {
						round++
						for i := range keys {
							keys[i] = fmt.Sprintf("%d-%08d-c4a1e2f0-6b1d-4c5e-9f00-%d", round, i, i)
						}
					}
					fill()
					if redelivery {
						if _, err := s.Claim(ctx, keys); err != nil {
							b.Fatal(err)
						}
						if err := s.Complete(ctx, keys); err != nil {
							b.Fatal(err)
						}
					}
					api.n.Store(0)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if !redelivery {
							b.StopTimer()
							fill()
							b.StartTimer()
						}
						got, err := s.Claim(ctx, keys)
						if err != nil {
							b.Fatal(err)
						}
						want := Claimed
						if redelivery {
							want = Completed
						}
						if got[0] != want || got[n-1] != want {
							b.Fatalf("status %v, want %v", got[0], want)
						}
					}
					b.ReportMetric(float64(api.n.Load())/float64(b.N), "requests/op")
				})
			}
		}
	}
}
