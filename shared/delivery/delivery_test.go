package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/retry"
)

var lim = broadcast.Limits{MaxDataBytes: 100, MaxChannelsPerCall: 100, MaxEventsPerCall: 10}

func TestPlan(t *testing.T) {
	items := []delivery.Item{
		{ID: "a", Body: []byte(`{"name":"E","channel":"private-a","data":{"x":1}}`)},
		{ID: "b", Body: []byte(`{"batch":[{"name":"E","channel":"c1","data":"s"},{"name":"F","channel":"c2","data":"t","id":"own"}]}`)},
		{ID: "c", Body: []byte(`{"name":"E","channel":"c","data":"` + strings.Repeat("x", 101) + `"}`)},
		{ID: "d", Err: errors.New("SNS notification has no Message")},
		{ID: "e", MessageID: "ev-e", Envelopes: []events.Envelope{{Name: "UserCreated", Channels: []string{"private-u.1"}, Data: []byte(`{"model":{}}`)}}},
		{ID: "f"},
	}
	b := delivery.Plan(items, lim)
	ids := []string{}
	for _, m := range b.Messages {
		ids = append(ids, m.ID)
	}
	if want := []string{"a", "b#0", "own", "ev-e"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("message ids = %v, want %v", ids, want)
	}
	if want := []int{0, 1, 1, 4}; !reflect.DeepEqual(b.Owner, want) {
		t.Fatalf("owners = %v, want %v", b.Owner, want)
	}
	if b.Messages[0].Data != `{"x":1}` {
		t.Fatalf("data = %q", b.Messages[0].Data)
	}
	want := []delivery.Status{delivery.Delivered, delivery.Delivered, delivery.Poison, delivery.Poison, delivery.Delivered, delivery.Delivered}
	for i, o := range b.Outcomes {
		if o.Status != want[i] {
			t.Errorf("item %d: %v, want %v", i, o.Status, want[i])
		}
	}
	if r := b.Outcomes[2].Reason; r != "data: is 101 bytes, the limit is 100" {
		t.Errorf("reason = %q", r)
	}
	if !errors.Is(b.Outcomes[2].Err, events.ErrInvalid) {
		t.Errorf("poison error does not wrap ErrInvalid")
	}
}

func TestSettle(t *testing.T) {
	items := []delivery.Item{
		{ID: "a", Body: []byte(`{"name":"E","channel":"a","data":{}}`)},
		{ID: "b", Body: []byte(`{"batch":[{"name":"E","channel":"b1","data":{}},{"name":"E","channel":"b2","data":{}}]}`)},
		{ID: "c", Body: []byte(`{"name":"E","channel":"c","data":{}}`)},
		{ID: "d", Body: []byte(`{"batch":[{"name":"E","channel":"d1","data":{}},{"name":"E","channel":"d2","data":{}}]}`)},
	}
	temp := &broadcast.Error{Provider: "pusher", StatusCode: 503, Temporary: true}
	perm := &broadcast.Error{Provider: "pusher", StatusCode: 413}
	b := delivery.Plan(items, lim)
	// messages: a, b1, b2, c, d1, d2
	err := &broadcast.BatchError{Errs: []error{nil, perm, temp, perm, nil, perm}}
	got := b.Settle(err)
	want := []delivery.Status{delivery.Delivered, delivery.Retry, delivery.Poison, delivery.Poison}
	for i, o := range got {
		if o.Status != want[i] {
			t.Errorf("item %s: %v (%s), want %v", items[i].ID, o.Status, o.Reason, want[i])
		}
	}
	if got[2].Reason != "refused by the provider: "+perm.Error() {
		t.Errorf("reason = %q", got[2].Reason)
	}

	// One error for the whole call applies to every message.
	all := b.Settle(temp)
	for i, o := range all {
		if o.Status != delivery.Retry {
			t.Errorf("item %d: %v, want retry", i, o.Status)
		}
	}
	// An error no driver classified: the invocation's end is still not
	// blamed on the items, anything else is.
	for _, c := range []struct {
		err  error
		want delivery.Status
	}{
		{fmt.Errorf("claims: %w", context.Canceled), delivery.Retry},
		{fmt.Errorf("claims: %w", context.DeadlineExceeded), delivery.Retry},
		{errors.New("unexpected"), delivery.Poison},
	} {
		for i, o := range b.Settle(c.err) {
			if o.Status != c.want {
				t.Errorf("%v: item %d: %v, want %v", c.err, i, o.Status, c.want)
			}
		}
	}
}

// TestAccountRefusalIsRetried: when the provider refuses herald's
// credentials or account (401, 403), the events are sent again within the
// invocation and their items are then left for redelivery (reported as
// batch item failures), never dead-lettered; a refusal of the event itself
// (400) is dead-lettered after one request.
func TestAccountRefusalIsRetried(t *testing.T) {
	const attempts = 3
	policy := retry.Policy{Base: time.Millisecond, Cap: 4 * time.Millisecond, MaxAttempts: attempts}
	items := []delivery.Item{
		{ID: "m-1", Body: []byte(`{"name":"OrderShipped","channel":"private-orders.1","data":{"id":1}}`)},
		{ID: "m-2", Body: []byte(`{"name":"OrderShipped","channel":"private-orders.2","data":{"id":2}}`)},
	}
	for _, c := range []struct {
		name     string
		secret   string // the driver's; default the stand-in's
		fault    testkit.Fault
		status   int
		want     delivery.Status
		requests int // how many the stand-in records; -1 when it records none
	}{
		{name: "401", fault: testkit.Fault{Status: http.StatusUnauthorized, Body: "Invalid signature"}, status: 401, want: delivery.Retry, requests: attempts},
		{name: "403", fault: testkit.Fault{Status: http.StatusForbidden, Body: "Application disabled"}, status: 403, want: delivery.Retry, requests: attempts},
		{name: "401 for a rotated secret", secret: "a-rotated-secret", status: 401, want: delivery.Retry, requests: -1},
		{name: "400", fault: testkit.Fault{Status: http.StatusBadRequest, Body: "Invalid event"}, status: 400, want: delivery.Poison, requests: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := testkit.NewPusherAPI(t, appID, key, secret)
			api.SetFault(func(testkit.PusherRequest) testkit.Fault { return c.fault })
			driverSecret := secret
			if c.secret != "" {
				driverSecret = c.secret
			}
			p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: driverSecret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
			if err != nil {
				t.Fatal(err)
			}
			out := delivery.Deliver(invocation(t), delivery.Guard(p, policy, nil, nil), items)
			for i, o := range out {
				var e *broadcast.Error
				if o.Status != c.want || !errors.As(o.Err, &e) || e.StatusCode != c.status {
					t.Fatalf("item %d: %v (%s), want %v with the provider's %d", i, o.Status, o.Reason, c.want, c.status)
				}
			}
			if c.requests >= 0 {
				if got := len(api.Requests()); got != c.requests {
					t.Fatalf("%d requests, want %d", got, c.requests)
				}
			}
			if ev := api.Events(); len(ev) != 0 {
				t.Fatalf("%d events accepted", len(ev))
			}
		})
	}
}
