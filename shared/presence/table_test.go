package presence_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/presence"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// newTable creates a presence table of its own in moto.
func newTable(t *testing.T, now func() time.Time) *presence.Table {
	t.Helper()
	api := dynamodb.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	name := testkit.UniqueName(t, "presence")
	if _, err := api.CreateTable(context.Background(), presence.CreateInput(name)); err != nil {
		t.Fatal(err)
	}
	tbl, err := presence.New(presence.Config{Name: name, Now: now}, api)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func at(ms int64) time.Time { return time.UnixMilli(ms) }

// Every order of the same webhooks leaves the same table: the newest
// event per channel and member wins, whichever came last.
func TestOutOfOrderWebhooksNeverLeaveTheTableWrong(t *testing.T) {
	ctx := context.Background()
	const ch = "presence-room"
	evs := []presence.Event{
		{Name: presence.ChannelOccupied, Channel: ch, Time: at(1000)},
		{Name: presence.MemberAdded, Channel: ch, UserID: "1", Time: at(1000)},
		{Name: presence.MemberAdded, Channel: ch, UserID: "2", Time: at(1500)},
		{Name: presence.MemberRemoved, Channel: ch, UserID: "1", Time: at(2000)},
		{Name: presence.ChannelVacated, Channel: ch, Time: at(2000)},
		{Name: presence.ChannelOccupied, Channel: ch, Time: at(3000)},
		{Name: presence.MemberRemoved, Channel: ch, UserID: "2", Time: at(2500)},
	}
	orders := map[string][]int{
		"in order":        {0, 1, 2, 3, 4, 5, 6},
		"reversed":        {6, 5, 4, 3, 2, 1, 0},
		"late vacated":    {0, 1, 2, 3, 5, 6, 4},
		"late add":        {0, 3, 4, 5, 6, 2, 1},
		"twice, shuffled": {5, 0, 4, 1, 3, 2, 6, 5, 4, 0, 3, 1, 2, 6},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			tbl := newTable(t, func() time.Time { return at(3000) })
			for _, i := range order {
				if _, err := tbl.Apply(ctx, evs[i]); err != nil {
					t.Fatal(err)
				}
			}
			occ, err := tbl.Occupied(ctx, []string{ch, "private-other"})
			if err != nil {
				t.Fatal(err)
			}
			if !occ[ch] || occ["private-other"] {
				t.Errorf("occupied = %v, want %s alone", occ, ch)
			}
			members, err := tbl.Members(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			if len(members) != 0 {
				t.Errorf("members = %v, want none (both removed last)", members)
			}
		})
	}
}

func TestApplyReportsWhatChanged(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t, nil)
	now := time.Now()
	steps := []struct {
		ev   presence.Event
		want bool
	}{
		{presence.Event{Name: presence.ChannelOccupied, Channel: "news", Time: now}, true},
		{presence.Event{Name: presence.ChannelOccupied, Channel: "news", Time: now}, false},                               // delivered twice
		{presence.Event{Name: presence.ChannelVacated, Channel: "news", Time: now.Add(-time.Second)}, false},              // late
		{presence.Event{Name: presence.ChannelVacated, Channel: "news", Time: now}, true},                                 // same request, later in it
		{presence.Event{Name: presence.ClientEvent, Channel: "news", Event: "client-x", Time: now.Add(time.Hour)}, false}, // not a table event
		{presence.Event{Name: presence.MemberAdded, Channel: "presence-x", UserID: "42", Time: now}, true},
	}
	for i, s := range steps {
		got, err := tbl.Apply(ctx, s.ev)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Errorf("step %d (%s at %d): applied = %v, want %v", i, s.ev.Name, s.ev.Time.UnixMilli(), got, s.want)
		}
	}
	members, err := tbl.Members(ctx, "presence-x")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(members, []string{"42"}) {
		t.Errorf("members = %v, want [42]", members)
	}
}

// An occupied row that no webhook refreshed within the TTL reads as
// vacated: the safety net for a lost channel_vacated.
func TestExpiredRowsReadAsAbsent(t *testing.T) {
	ctx := context.Background()
	clock := time.Now()
	tbl := newTable(t, func() time.Time { return clock })
	if _, err := tbl.Apply(ctx, presence.Event{Name: presence.ChannelOccupied, Channel: "news", Time: clock}); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Apply(ctx, presence.Event{Name: presence.MemberAdded, Channel: "presence-x", UserID: "1", Time: clock}); err != nil {
		t.Fatal(err)
	}
	if occ, _ := tbl.Occupied(ctx, []string{"news"}); !occ["news"] {
		t.Fatalf("news not occupied right after channel_occupied")
	}
	clock = clock.Add(presence.DefaultTTL + time.Second)
	if occ, _ := tbl.Occupied(ctx, []string{"news"}); occ["news"] {
		t.Errorf("news still occupied after the TTL")
	}
	if m, _ := tbl.Members(ctx, "presence-x"); len(m) != 0 {
		t.Errorf("members after the TTL = %v", m)
	}
}

// Occupied reads more channels than one BatchGetItem takes.
func TestOccupiedManyChannels(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t, nil)
	now := time.Now()
	var chans []string
	for i := range 250 {
		ch := "private-App.Models.User." + string(rune('a'+i%26)) + time.Duration(i).String()
		chans = append(chans, ch)
		if i%2 == 0 {
			if _, err := tbl.Apply(ctx, presence.Event{Name: presence.ChannelOccupied, Channel: ch, Time: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	occ, err := tbl.Occupied(ctx, chans)
	if err != nil {
		t.Fatal(err)
	}
	if len(occ) != 125 {
		t.Errorf("%d occupied, want 125", len(occ))
	}
	for i, ch := range chans {
		if occ[ch] != (i%2 == 0) {
			t.Errorf("%s occupied = %v", ch, occ[ch])
		}
	}
}

func TestSeen(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t, nil)
	if seen, err := tbl.Seen(ctx, "abc"); err != nil || seen {
		t.Fatalf("Seen before MarkSeen = %v, %v", seen, err)
	}
	if err := tbl.MarkSeen(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	if seen, err := tbl.Seen(ctx, "abc"); err != nil || !seen {
		t.Fatalf("Seen after MarkSeen = %v, %v", seen, err)
	}
	if seen, _ := tbl.Seen(ctx, "abd"); seen {
		t.Errorf("another digest is seen")
	}
}
