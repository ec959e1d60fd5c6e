package delivery_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/delivery"
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
	got := b.Settle(context.Background(), err)
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
	all := b.Settle(context.Background(), temp)
	for i, o := range all {
		if o.Status != delivery.Retry {
			t.Errorf("item %d: %v, want retry", i, o.Status)
		}
	}
	// A refusal of herald's account is not the items' fault.
	for _, status := range []int{401, 403} {
		for i, o := range b.Settle(context.Background(), &broadcast.Error{Provider: "pusher", StatusCode: status}) {
			if o.Status != delivery.Retry {
				t.Errorf("provider %d: item %d: %v, want retry", status, i, o.Status)
			}
		}
	}
	// When the invocation is being cancelled nothing is blamed on the items.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, o := range b.Settle(ctx, perm) {
		if o.Status != delivery.Retry {
			t.Errorf("cancelled: item %d: %v, want retry", i, o.Status)
		}
	}
}
