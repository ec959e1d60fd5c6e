package idempotency

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// proxyConfig says how a dynamoProxy changes what moto answers.
type proxyConfig struct {
	// splitBatches makes the first BatchWriteItem and the first
	// BatchGetItem process only half of their items and return the rest
	// as UnprocessedItems / UnprocessedKeys, as DynamoDB does under
	// throttling (moto processes everything).
	splitBatches bool
	// dropRefusedItem removes the refusing Item from a conditional
	// refusal, as from a DynamoDB that does not return it.
	dropRefusedItem bool
	// serialWrites forwards one write at a time.
	serialWrites bool
	// fault, when it returns a status, answers the request itself with
	// that status and an error of that code instead of forwarding it.
	fault func(op string) (status int, code string)
}

// dynamoProxy is a real HTTP server in front of moto that forwards the
// SDK's requests and changes their answers as its proxyConfig says. It
// counts the operations it was asked for.
type dynamoProxy struct {
	URL      string
	cfg      proxyConfig
	upstream string
	http     *http.Client
	writes   sync.Mutex
	mu       sync.Mutex
	ops      map[string]int
	split    map[string]bool
}

func newDynamoProxy(t testing.TB, cfg proxyConfig) *dynamoProxy {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	p := &dynamoProxy{cfg: cfg, upstream: testkit.Moto(t).Endpoint, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, ops: map[string]int{}, split: map[string]bool{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(tr.CloseIdleConnections)
	p.URL = srv.URL
	return p
}

func (p *dynamoProxy) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ops[op]
}

func (p *dynamoProxy) setFault(fault func(op string) (int, string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.fault = fault
}

func (p *dynamoProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	p.mu.Lock()
	p.ops[op]++
	fault := p.cfg.fault
	splitNow := p.cfg.splitBatches && !p.split[op] && (op == "BatchWriteItem" || op == "BatchGetItem")
	if splitNow {
		p.split[op] = true
	}
	p.mu.Unlock()

	if fault != nil {
		if status, code := fault(op); status != 0 {
			answer(w, status, map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": "injected by the test's proxy"})
			return
		}
	}
	if p.cfg.serialWrites && (op == "PutItem" || op == "DeleteItem" || op == "BatchWriteItem") {
		p.writes.Lock()
		defer p.writes.Unlock()
	}
	if !splitNow && !(p.cfg.dropRefusedItem && op == "PutItem") {
		status, out := p.send(r, body)
		answerRaw(w, status, out)
		return
	}

	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		answer(w, 400, map[string]any{"__type": "SerializationException", "message": err.Error()})
		return
	}
	held := map[string]any{}
	if splitNow {
		// Keep the first half of each table's items; hold back the rest.
		for table, v := range in["RequestItems"].(map[string]any) {
			switch op {
			case "BatchWriteItem":
				writes := v.([]any)
				in["RequestItems"].(map[string]any)[table] = writes[:len(writes)/2]
				held[table] = writes[len(writes)/2:]
			case "BatchGetItem":
				ka := v.(map[string]any)
				keys := ka["Keys"].([]any)
				rest := map[string]any{}
				for k, v := range ka {
					rest[k] = v
				}
				ka["Keys"], rest["Keys"] = keys[:len(keys)/2], keys[len(keys)/2:]
				held[table] = rest
			}
		}
		body, _ = json.Marshal(in)
	}
	status, raw := p.send(r, body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		answerRaw(w, status, raw)
		return
	}
	switch {
	case splitNow && status == 200 && op == "BatchWriteItem":
		out["UnprocessedItems"] = held
	case splitNow && status == 200 && op == "BatchGetItem":
		out["UnprocessedKeys"] = held
	case op == "PutItem" && status == 400:
		delete(out, "Item")
	}
	answer(w, status, out)
}

// send passes a request on to moto as it came, but for its body (moto
// reads the signature's scope, not its value, so a changed body passes).
func (p *dynamoProxy) send(r *http.Request, body []byte) (int, []byte) {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.upstream+r.URL.Path, bytes.NewReader(body))
	for _, h := range []string{"Content-Type", "X-Amz-Target", "Authorization", "X-Amz-Date"} {
		req.Header.Set(h, r.Header.Get(h))
	}
	resp, err := p.http.Do(req)
	if err != nil {
		b, _ := json.Marshal(map[string]any{"__type": "ProxyError", "message": err.Error()})
		return http.StatusBadGateway, b
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func answer(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	answerRaw(w, status, b)
}

// answerRaw writes a DynamoDB answer with the checksum the SDK verifies.
func answerRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(status)
	w.Write(body)
}

// TestDynamoDBAnswersMotoDoesNotGive drives a Store through the proxy:
// writes and reads DynamoDB leaves unprocessed are sent again until done;
// a refusal that carries the refusing record is classified without a read,
// and one that does not is classified after one.
func TestDynamoDBAnswersMotoDoesNotGive(t *testing.T) {
	table := createTable(t, client(t, 3))
	proxy := newDynamoProxy(t, proxyConfig{splitBatches: true})
	db := clientAt(t, proxy.URL, 1)
	ctx := ctxFor(t, time.Minute)
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

	// Refusals: b meets a's claims, and the refusal says so (moto returns
	// the record for ALL_OLD as DynamoDB does); no GetItem is needed.
	for i, st := range mustClaim(t, b, ctx, keys...) {
		if st != InProgress {
			t.Fatalf("%s: %v, want in progress", keys[i], st)
		}
	}
	if n := proxy.count("GetItem"); n != 0 {
		t.Fatalf("%d GetItem calls; the refusals carried their records", n)
	}
	// Without the record in the refusal, the store reads it.
	bare := newDynamoProxy(t, proxyConfig{dropRefusedItem: true})
	c := newStore(t, clientAt(t, bare.URL, 1), Config{Table: table, NoPrefetch: true})
	wantStatuses(t, mustClaim(t, c, ctx, "k00", "k01"), InProgress, InProgress)
	if n := bare.count("GetItem"); n != 2 {
		t.Fatalf("%d GetItem calls after 2 bare refusals, want 2", n)
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
	d := newStore(t, db, Config{Table: table})
	for i, st := range mustClaim(t, d, ctx, keys...) {
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
	e := newStore(t, db, Config{Table: table, NoPrefetch: true})
	wantStatuses(t, mustClaim(t, e, ctx, "fresh"), Claimed)
	if err := e.Release(ctx, []string{"fresh"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Release(ctx, []string{"k00"}); err == nil {
		t.Fatal("release of a completed key succeeded")
	}
	wantStatuses(t, mustClaim(t, b, ctx, "fresh", "k00"), Claimed, Completed)
	if proxy.count("DeleteItem") != 2 {
		t.Fatalf("%d DeleteItem calls", proxy.count("DeleteItem"))
	}
}
