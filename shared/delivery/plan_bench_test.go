package delivery

import (
	"fmt"
	"testing"

	"github.com/heraldrt/herald/shared/broadcast"
)

// BenchmarkPlan_10000 is the work a 10,000-message batch does before its
// first provider request: every body decoded and validated into messages.
func BenchmarkPlan_10000(b *testing.B) {
	items := make([]Item, 10000)
	for i := range items {
		items[i] = Item{ID: fmt.Sprintf("m-%d", i), Body: []byte(fmt.Sprintf(`{"name":"EmailSent","channel":"private-App.Models.User.%d","data":{"subject":"Welcome","unread":%d}}`, i, i))}
	}
	lim := broadcast.Limits{MaxDataBytes: 10240, MaxChannelsPerCall: 100, MaxEventsPerCall: 10}
	b.ReportAllocs()
	for b.Loop() {
		p := Plan(items, lim)
		if len(p.Messages) != len(items) {
			b.Fatalf("%d messages", len(p.Messages))
		}
	}
}
