package testkit_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/signature"
	pusher "github.com/pusher/pusher-http-go/v5"
)

func client(api *testkit.PusherAPI, secret string, timeout time.Duration) *pusher.Client {
	return &pusher.Client{AppID: api.AppID, Key: api.Key, Secret: secret, Host: strings.TrimPrefix(api.URL, "http://"),
		HTTPClient: &http.Client{Timeout: timeout}}
}

func TestPusherAPIRecordsWhatPusherHTTPGoSends(t *testing.T) {
	api := testkit.NewPusherAPI(t, "3", "278d425bdf160c739803", "7ad3773142a6692b25b8")
	c := client(api, api.Secret, 20*time.Second)
	socket := "123.456"
	if _, err := c.TriggerWithParams("private-a", "E", map[string]int{"n": 1}, pusher.TriggerParams{SocketID: &socket}); err != nil {
		t.Fatal(err)
	}
	if err := c.TriggerMulti([]string{"b", "c"}, "F", "text"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TriggerBatch([]pusher.Event{{Channel: "d", Name: "G", Data: "1"}, {Channel: "e", Name: "H", Data: "2"}}); err != nil {
		t.Fatal(err)
	}
	got := api.Events()
	want := []testkit.PusherEvent{
		{Name: "E", Channels: []string{"private-a"}, Data: `{"n":1}`, SocketID: "123.456", Request: 0},
		{Name: "F", Channels: []string{"b", "c"}, Data: "text", Request: 1},
		{Name: "G", Channels: []string{"d"}, Data: "1", Request: 2},
		{Name: "H", Channels: []string{"e"}, Data: "2", Request: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("events = %+v", got)
	}
	for i := range want {
		if strings.Join(got[i].Channels, ",") != strings.Join(want[i].Channels, ",") || got[i].Name != want[i].Name ||
			got[i].Data != want[i].Data || got[i].SocketID != want[i].SocketID || got[i].Request != want[i].Request {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	reqs := api.Requests()
	if len(reqs) != 3 || !reqs[2].Batch || reqs[0].Batch || reqs[2].Path != "/apps/3/batch_events" {
		t.Fatalf("requests = %+v", reqs)
	}
}

func TestPusherAPIRefusesAsPusherDoes(t *testing.T) {
	api := testkit.NewPusherAPI(t, "3", "key", "secret")
	if err := client(api, "wrong", 20*time.Second).Trigger("a", "E", "x"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong secret: %v, want 401", err)
	}
	batch := make([]pusher.Event, 11)
	for i := range batch {
		batch[i] = pusher.Event{Channel: "a", Name: "E", Data: "x"}
	}
	if _, err := client(api, "secret", 20*time.Second).TriggerBatch(batch); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("11 events in a batch: %v, want 400", err)
	}
	// A stale signature, built by hand.
	q := signature.SignRequest("POST", "/apps/3/events", nil, []byte(`{}`), "key", "secret", time.Now().Add(-time.Hour))
	resp, err := http.Post(api.URL+"/apps/3/events?"+q.Encode(), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("stale timestamp: %d", resp.StatusCode)
	}
	if n := len(api.Events()); n != 0 {
		t.Fatalf("%d events accepted from refused requests", n)
	}
}

func TestPusherAPIFaults(t *testing.T) {
	api := testkit.NewPusherAPI(t, "3", "key", "secret")
	c := client(api, "secret", 20*time.Second)
	// Program per request: the second call fails with 503, the third is
	// dropped, the fourth is slower than the client waits.
	api.SetFault(func(r testkit.PusherRequest) testkit.Fault {
		switch r.N {
		case 1:
			return testkit.Fault{Status: 503}
		case 2:
			return testkit.Fault{Drop: true}
		case 3:
			return testkit.Fault{Delay: time.Minute}
		}
		return testkit.Fault{}
	})
	if err := c.Trigger("a", "ok", "x"); err != nil {
		t.Fatal(err)
	}
	if err := c.Trigger("a", "unavailable", "x"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: %v", err)
	}
	if err := c.Trigger("a", "dropped", "x"); err == nil {
		t.Fatal("dropped connection: no error")
	}
	short := client(api, "secret", 200*time.Millisecond)
	if err := short.Trigger("a", "slow", "x"); err == nil {
		t.Fatal("slow answer: no timeout")
	}
	api.SetFault(testkit.FailChannel("b", 500))
	if err := c.Trigger("b", "failed by channel", "x"); err == nil {
		t.Fatal("FailChannel did not fail")
	}
	if err := c.Trigger("a", "ok again", "x"); err != nil {
		t.Fatal(err)
	}
	// The slow call was accepted before the client gave up, as a real
	// provider would have published it: a timeout is not a failure.
	var names []string
	for _, e := range api.Events() {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "ok,slow,ok again" {
		t.Fatalf("accepted %s, want ok,slow,ok again", got)
	}
	var statuses []int
	for _, r := range api.Requests() {
		statuses = append(statuses, r.Status)
	}
	if got := fmt.Sprint(statuses); got != "[200 503 0 200 500 200]" {
		t.Fatalf("statuses = %s", got)
	}
}
