package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// dynamoProxy stands between a Store and dynalite and makes dynalite
// answer as DynamoDB does where dynalite does not:
//
//   - a BatchWriteItem or BatchGetItem at a time of DynamoDB's choosing
//     processes only part of the request and returns the rest as
//     UnprocessedItems / UnprocessedKeys (it does under throttling);
//     here the first of each does, holding back the second half;
//   - a refused PutItem with ReturnValuesOnConditionCheckFailure ALL_OLD
//     carries the refusing Item (dynalite ignores the parameter).
//
// It counts the operations it forwarded.
type dynamoProxy struct {
	t        *testing.T
	upstream string
	direct   *DynamoDB // reads refusing records from dynalite
	mu       sync.Mutex
	ops      map[string]int
	split    map[string]bool // operations whose first call was split already
}

func newDynamoProxy(t *testing.T, upstream string) (*dynamoProxy, string) {
	p := &dynamoProxy{t: t, upstream: upstream, direct: client(upstream, 1), ops: map[string]int{}, split: map[string]bool{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *dynamoProxy) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ops[op]
}

func (p *dynamoProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	p.mu.Lock()
	p.ops[op]++
	first := !p.split[op]
	p.split[op] = true
	p.mu.Unlock()
	switch {
	case op == "BatchWriteItem" && first:
		var in BatchWriteItemInput
		json.Unmarshal(body, &in)
		held := map[string][]WriteRequest{}
		for table, writes := range in.RequestItems {
			half := len(writes) / 2
			in.RequestItems[table], held[table] = writes[:half], writes[half:]
		}
		var out BatchWriteItemOutput
		p.forward(w, r, op, in, &out)
		out.UnprocessedItems = held
		writeJSON(w, 200, out)
	case op == "BatchGetItem" && first:
		var in BatchGetItemInput
		json.Unmarshal(body, &in)
		held := map[string]KeysAndAttributes{}
		for table, ka := range in.RequestItems {
			half := len(ka.Keys) / 2
			rest := ka
			rest.Keys = ka.Keys[half:]
			ka.Keys = ka.Keys[:half]
			in.RequestItems[table], held[table] = ka, rest
		}
		var out BatchGetItemOutput
		p.forward(w, r, op, in, &out)
		out.UnprocessedKeys = held
		writeJSON(w, 200, out)
	case op == "PutItem":
		var in PutItemInput
		json.Unmarshal(body, &in)
		resp := p.send(r, body)
		var refusal map[string]any
		if resp.status == 400 && json.Unmarshal(resp.body, &refusal) == nil && strings.HasSuffix(fmt.Sprint(refusal["__type"]), "#ConditionalCheckFailedException") && in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" {
			got, err := p.direct.GetItem(r.Context(), &GetItemInput{TableName: in.TableName, Key: Item{attrID: in.Item[attrID]}, ConsistentRead: true})
			if err != nil {
				p.t.Errorf("proxy: reading the refusing record: %v", err)
			} else if got.Item != nil {
				refusal["Item"] = got.Item
			}
			writeJSON(w, 400, refusal)
			return
		}
		w.WriteHeader(resp.status)
		w.Write(resp.body)
	default:
		resp := p.send(r, body)
		w.WriteHeader(resp.status)
		w.Write(resp.body)
	}
}

type proxied struct {
	status int
	body   []byte
}

// send passes a request on to dynalite as it came (dynalite checks that a
// request is signed, not the signature, so a changed body is accepted).
func (p *dynamoProxy) send(r *http.Request, body []byte) proxied {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.upstream+"/", bytes.NewReader(body))
	for _, h := range []string{"Content-Type", "X-Amz-Target", "Authorization", "X-Amz-Date"} {
		req.Header.Set(h, r.Header.Get(h))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return proxied{status: 503, body: []byte(`{"__type":"ServiceUnavailable","message":"proxy: ` + err.Error() + `"}`)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return proxied{status: resp.StatusCode, body: b}
}

func (p *dynamoProxy) forward(w http.ResponseWriter, r *http.Request, op string, in, out any) {
	b, _ := json.Marshal(in)
	resp := p.send(r, b)
	if resp.status != 200 {
		p.t.Errorf("proxy: %s answered %d: %s", op, resp.status, resp.body)
		return
	}
	json.Unmarshal(resp.body, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// TestDynamoDBAnswersDynaliteDoesNotGive drives a Store through the proxy:
// writes and reads DynamoDB leaves unprocessed are sent again until done,
// and a refusal that carries the refusing record is classified without a
// read.
func TestDynamoDBAnswersDynaliteDoesNotGive(t *testing.T) {
	endpoint := testkit.Dynalite(t)
	table := createTable(t, admin(endpoint))
	proxy, url := newDynamoProxy(t, endpoint)
	db := client(url, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := newStore(t, db, Config{Table: table, NoPrefetch: true})
	b := newStore(t, db, Config{Table: table, NoPrefetch: true})

	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
	}
	for i, st := range mustClaim(t, a, ctx, keys...) {
		if st != Claimed {
			t.Fatalf("%s: %v", keys[i], st)
		}
	}

	// Refusals: b meets a's claims, and DynamoDB's refusal says so; no
	// GetItem is needed.
	for i, st := range mustClaim(t, b, ctx, keys...) {
		if st != InProgress {
			t.Fatalf("%s: %v, want in progress", keys[i], st)
		}
	}
	if n := proxy.count("GetItem"); n != 0 {
		t.Fatalf("%d GetItem calls; the refusals carried their records", n)
	}

	// Complete: the first BatchWriteItem writes half; the rest is sent
	// again. Every key ends completed.
	if err := a.Complete(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if n := proxy.count("BatchWriteItem"); n != 2 {
		t.Fatalf("%d BatchWriteItem calls, want 2 (the unprocessed half again)", n)
	}
	puts := proxy.count("PutItem")

	// Prefetch: the first BatchGetItem reads half; the rest is asked for
	// again, so every key is decided by reads and none is written.
	c := newStore(t, db, Config{Table: table})
	for i, st := range mustClaim(t, c, ctx, keys...) {
		if st != Completed {
			t.Fatalf("%s: %v, want completed", keys[i], st)
		}
	}
	if n := proxy.count("BatchGetItem"); n != 2 {
		t.Fatalf("%d BatchGetItem calls, want 2 (the unprocessed half again)", n)
	}
	if n := proxy.count("PutItem") - puts; n != 0 {
		t.Fatalf("%d PutItem calls after the prefetch; unprocessed keys were not read", n)
	}

	// Release goes through DeleteItem: released keys are claimable, a
	// completed one is not held.
	d := newStore(t, db, Config{Table: table, NoPrefetch: true})
	wantStatuses(t, mustClaim(t, d, ctx, "fresh"), Claimed)
	if err := d.Release(ctx, []string{"fresh"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Release(ctx, []string{"k00"}); err == nil {
		t.Fatal("release of a completed key succeeded")
	}
	wantStatuses(t, mustClaim(t, b, ctx, "fresh", "k00"), Claimed, Completed)
	if proxy.count("DeleteItem") != 2 {
		t.Fatalf("%d DeleteItem calls", proxy.count("DeleteItem"))
	}
}
