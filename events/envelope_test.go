package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/heraldrt/herald/shared/broadcast"
)

// pusherLimits are the pusher driver's defaults, spelled out so these tests
// do not depend on a driver.
var pusherLimits = broadcast.Limits{MaxDataBytes: 10240, MaxChannelsPerCall: 100, MaxEventsPerCall: 10}

type want struct {
	name     string
	channels []string
	payload  string
	socketID string
	id       string
	// unoccupied is the envelope's "unoccupied" as decoded.
	unoccupied string
}

type envelopeCase struct {
	name string
	body string
	// want is the decoded result when the body is good.
	want []want
	// err is the exact error when it is bad.
	err string
	// schema is the JSON Schema's verdict when it differs from Go's: some
	// rules (driver data limits, reserved names, encrypted channels alone,
	// unknown notification keys, name lengths in bytes) only herald's code
	// can check.
	schema *bool
}

func yes() *bool { b := true; return &b }

var envelopeCases = []envelopeCase{
	{name: "single channel, object data",
		body: `{"name":"EmailSent","channel":"private-App.Models.User.42","data":{"subject":"Welcome"}}`,
		want: []want{{name: "EmailSent", channels: []string{"private-App.Models.User.42"}, payload: `{"subject":"Welcome"}`}}},
	{name: "channels, string data, socket and id",
		body: `{"name":"EmailSent","channels":["private-App.Models.User.42","presence-online"],"data":"{\"subject\":\"Welcome\"}","socket_id":"123.456","id":"email-7"}`,
		want: []want{{name: "EmailSent", channels: []string{"private-App.Models.User.42", "presence-online"}, payload: `{"subject":"Welcome"}`, socketID: "123.456", id: "email-7"}}},
	{name: "data compacted",
		body: "{\"name\":\"a\",\"channel\":\"c\",\"data\":{ \"x\" : [1, 2] }}",
		want: []want{{name: "a", channels: []string{"c"}, payload: `{"x":[1,2]}`}}},
	{name: "scalar data",
		body: `{"name":"a","channel":"c","data":42}`,
		want: []want{{name: "a", channels: []string{"c"}, payload: `42`}}},
	{name: "batch",
		body: `{"batch":[{"name":"a","channel":"c1","data":{}},{"name":"b","channels":["c2"],"data":"x","id":"k"}]}`,
		want: []want{{name: "a", channels: []string{"c1"}, payload: `{}`}, {name: "b", channels: []string{"c2"}, payload: `x`, id: "k"}}},
	{name: "notification with default channel",
		body: `{"notification":{"id":"n-1","type":"App\\Notifications\\EmailSent","notifiable_id":42,"data":{"subject":"Welcome"}}}`,
		want: []want{{name: NotificationEvent, channels: []string{"private-App.Models.User.42"}, payload: `{"id":"n-1","subject":"Welcome","type":"App\\Notifications\\EmailSent"}`, id: "n-1"}}},
	{name: "notification of another model with string key",
		body: `{"notification":{"id":"n-2","type":"T","notifiable_type":"App\\Models\\Team","notifiable_id":"7","data":{"id":"overridden"}},"socket_id":"1.2"}`,
		want: []want{{name: NotificationEvent, channels: []string{"private-App.Models.Team.7"}, payload: `{"id":"n-2","type":"T"}`, socketID: "1.2", id: "n-2"}}},
	{name: "notification with explicit channel and id",
		body: `{"notification":{"id":"n-3","type":"T","data":{}},"channel":"private-inbox.9","id":"key"}`,
		want: []want{{name: NotificationEvent, channels: []string{"private-inbox.9"}, payload: `{"id":"n-3","type":"T"}`, id: "key"}}},
	{name: "notification in a batch",
		body: `{"batch":[{"notification":{"id":"n","type":"T","notifiable_id":1,"data":{}}}]}`,
		want: []want{{name: NotificationEvent, channels: []string{"private-App.Models.User.1"}, payload: `{"id":"n","type":"T"}`, id: "n"}}},
	{name: "encrypted channel alone",
		body: `{"name":"a","channel":"private-encrypted-inbox.1","data":{}}`,
		want: []want{{name: "a", channels: []string{"private-encrypted-inbox.1"}, payload: `{}`}}},
	{name: "data at the limit",
		body: `{"name":"a","channel":"c","data":"` + strings.Repeat("x", 10240) + `"}`,
		want: []want{{name: "a", channels: []string{"c"}, payload: strings.Repeat("x", 10240)}}},

	{name: "data null",
		body: `{"name":"a","channel":"c","data":null}`,
		want: []want{{name: "a", channels: []string{"c"}, payload: `null`}}},
	{name: "escapes in data kept",
		body: `{"name":"a","channel":"c","data":{"x":"\u00e9\/<"}}`,
		want: []want{{name: "a", channels: []string{"c"}, payload: `{"x":"\u00e9\/<"}`}}},
	{name: "escapes in names decoded",
		body: `{"name":"E\u0041","channel":"private-\u0041","data":1}`,
		want: []want{{name: "EA", channels: []string{"private-A"}, payload: `1`}}},

	{name: "empty body", body: ``, err: `body is empty`},
	{name: "blank body", body: " \n\t", err: `body is empty`},
	{name: "not JSON", body: `{"name":`, err: `body is not valid JSON`},
	{name: "array", body: `[{"name":"a"}]`, err: `body must be a JSON object (an envelope, {"batch": [...]} or {"notification": {...}})`},
	{name: "unknown field", body: `{"name":"a","chanels":["c"],"data":1}`, err: `unknown field "chanels" (an envelope has name, channel or channels, data, socket_id, id, unoccupied)`},
	{name: "wrong type", body: `{"name":"a","channels":"c","data":1}`, err: `channels: must be an array, not a JSON string`},
	{name: "wrong element type", body: `{"name":"a","channels":["c",2],"data":1}`, err: `channels[1]: must be a string, not a JSON number`},
	{name: "wrong type in a batch", body: `{"batch":[{"name":"a","channel":"c","data":1},{"name":true,"channel":"c","data":1}]}`, err: `batch[1].name: must be a string, not a JSON boolean`},
	// Member names match exactly: "Name" is not "name".
	{name: "name in another case", body: `{"Name":"a","channel":"c","data":1}`, err: `unknown field "Name" (an envelope has name, channel or channels, data, socket_id, id, unoccupied)`},
	// A repeated member has two meanings: the one validated must be the one
	// broadcast. The schema cannot see repeats.
	{name: "repeated name", body: `{"name":"a","channel":"c","data":1,"name":"b"}`, err: `name: is given twice`, schema: yes()},
	{name: "repeated member in a batch", body: `{"batch":[{"name":"a","channels":["c"],"channels":["d"],"data":1}]}`, err: `batch[0].channels: is given twice`, schema: yes()},
	// Pusher and Ably carry text.
	{name: "invalid UTF-8", body: "{\"name\":\"\xff\",\"channel\":\"c\",\"data\":1}", err: `body is not valid JSON`, schema: yes()},
	{name: "lone surrogate", body: `{"name":"\ud800","channel":"c","data":1}`, err: `body is not valid JSON`, schema: yes()},
	{name: "channel and channels", body: `{"name":"a","channel":"c","channels":["d"],"data":1}`, err: `give either "channel" or "channels", not both`},
	{name: "notification with channel and channels", body: `{"notification":{"id":"n","type":"T","data":{}},"channel":"c","channels":["d"]}`, err: `give either "channel" or "channels", not both`},
	{name: "no name", body: `{"channel":"c","data":1}`, err: `name: is required`},
	{name: "long name", body: `{"name":"` + strings.Repeat("n", 201) + `","channel":"c","data":1}`, err: `name: is 201 bytes, the limit is 200`},
	// Names are measured in bytes; the schema's maxLength counts characters.
	{name: "long name in bytes", body: `{"name":"` + strings.Repeat("é", 101) + `","channel":"c","data":1}`, err: `name: is 202 bytes, the limit is 200`, schema: yes()},
	{name: "reserved name", body: `{"name":"pusher:subscribe","channel":"c","data":1}`, err: `name: "pusher:subscribe": names starting with "pusher:" or "pusher_internal:" are reserved for the protocol`, schema: yes()},
	{name: "no channels", body: `{"name":"a","data":1}`, err: `channels: at least one channel is required`},
	{name: "empty channels", body: `{"name":"a","channels":[],"data":1}`, err: `channels: at least one channel is required`},
	{name: "bad channel charset", body: `{"name":"a","channels":["c1","c2","private-a b"],"data":1}`, err: `channels[2]: "private-a b": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
	{name: "colon in channel", body: `{"name":"a","channel":"private-a:b","data":1}`, err: `channels[0]: "private-a:b": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
	{name: "long channel", body: `{"name":"a","channel":"` + strings.Repeat("c", 165) + `","data":1}`, err: `channels[0]: "ccccccccccccccccccccccccccccccccccccc...": channel name is 165 characters, the limit is 164`},
	{name: "duplicate channel", body: `{"name":"a","channels":["c","d","c"],"data":1}`, err: `channels[2]: "c" is also channels[0]`},
	{name: "encrypted with others", body: `{"name":"a","channels":["c","private-encrypted-x"],"data":1}`, err: `channels[1]: "private-encrypted-x": an encrypted channel must be the only channel of its envelope (each is encrypted with its own key)`, schema: yes()},
	{name: "no data", body: `{"name":"a","channel":"c"}`, err: `data: is required`},
	{name: "data over the limit", body: `{"name":"a","channel":"c","data":"` + strings.Repeat("x", 10241) + `"}`, err: `data: is 10241 bytes, the limit is 10240`, schema: yes()},
	{name: "bad socket id", body: `{"name":"a","channel":"c","data":1,"socket_id":"1.2:private-x"}`, err: `socket_id: "1.2:private-x" must look like 123.456 (digits, a dot, digits)`},
	{name: "long id", body: `{"name":"a","channel":"c","data":1,"id":"` + strings.Repeat("i", 257) + `"}`, err: `id: is 257 bytes, the limit is 256`},
	{name: "empty batch", body: `{"batch":[]}`, err: `batch: is empty`},
	{name: "batch not array", body: `{"batch":{}}`, err: `batch: must be an array of envelopes`},
	{name: "batch with extra key", body: `{"batch":[{"name":"a","channel":"c","data":1}],"name":"x"}`, err: `a batch has only the field "batch", found "name"`},
	{name: "batch after unknown keys", body: `{"x":1,"name":2,"batch":[{"name":"a","channel":"c","data":1}]}`, err: `a batch has only the field "batch", found "name", "x"`},
	{name: "nested batch", body: `{"batch":[{"batch":[]}]}`, err: `batch[0]: batches do not nest`},
	{name: "bad envelope in batch", body: `{"batch":[{"name":"a","channel":"c","data":1},{"name":"b","channels":["x y"],"data":1}]}`, err: `batch[1].channels[0]: "x y": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
	{name: "batch item not object", body: `{"batch":[1]}`, err: `batch[0]: body must be a JSON object (an envelope, {"batch": [...]} or {"notification": {...}})`},
	{name: "notification without id", body: `{"notification":{"type":"T","notifiable_id":1,"data":{}}}`, err: `notification.id: is required`},
	{name: "notification without type", body: `{"notification":{"id":"n","notifiable_id":1,"data":{}}}`, err: `notification.type: is required`},
	{name: "notification data not object", body: `{"notification":{"id":"n","type":"T","notifiable_id":1,"data":[1]}}`, err: `notification.data: must be a JSON object`},
	{name: "notification without notifiable", body: `{"notification":{"id":"n","type":"T","data":{}}}`, err: `notification.notifiable_id: is required unless channels are given`},
	{name: "notification bad notifiable", body: `{"notification":{"id":"n","type":"T","notifiable_id":true,"data":{}}}`, err: `notification.notifiable_id: must be a string or a number`},
	{name: "unoccupied fallback",
		body: `{"name":"EmailSent","channel":"private-App.Models.User.43","data":{},"unoccupied":"fallback"}`,
		want: []want{{name: "EmailSent", channels: []string{"private-App.Models.User.43"}, payload: `{}`, unoccupied: "fallback"}}},
	{name: "unoccupied skip and send in a batch",
		body: `{"batch":[{"name":"a","channel":"c1","data":1,"unoccupied":"skip"},{"name":"b","channel":"c2","data":2,"unoccupied":"send"}]}`,
		want: []want{{name: "a", channels: []string{"c1"}, payload: `1`, unoccupied: "skip"}, {name: "b", channels: []string{"c2"}, payload: `2`, unoccupied: "send"}}},
	{name: "notification unoccupied",
		body: `{"notification":{"id":"n-4","type":"T","notifiable_id":43,"data":{}},"unoccupied":"fallback"}`,
		want: []want{{name: NotificationEvent, channels: []string{"private-App.Models.User.43"}, payload: `{"id":"n-4","type":"T"}`, id: "n-4", unoccupied: "fallback"}}},
	{name: "unoccupied unknown", body: `{"name":"a","channel":"c","data":1,"unoccupied":"drop"}`, err: `unoccupied: "drop" must be "send", "skip" or "fallback"`},
	{name: "unoccupied not a string", body: `{"name":"a","channel":"c","data":1,"unoccupied":true}`, err: `unoccupied: must be a string, not a JSON boolean`},
	{name: "notification unknown key", body: `{"notification":{"id":"n","type":"T","notifiable_id":1,"data":{},"via":"x"}}`, err: `unknown field "via" (an envelope has name, channel or channels, data, socket_id, id, unoccupied)`},
}

func TestEnvelopes(t *testing.T) {
	for _, c := range envelopeCases {
		t.Run(c.name, func(t *testing.T) {
			envs, err := Parse([]byte(c.body), pusherLimits)
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted, want error %q", c.err)
				}
				if err.Error() != c.err {
					t.Fatalf("error\n got: %s\nwant: %s", err, c.err)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if len(envs) != len(c.want) {
				t.Fatalf("got %d envelopes, want %d", len(envs), len(c.want))
			}
			for i, w := range c.want {
				m, err := envs[i].Message("trigger-id")
				if err != nil {
					t.Fatal(err)
				}
				wantID := w.id
				if wantID == "" {
					wantID = "trigger-id"
				}
				if m.Name != w.name || strings.Join(m.Channels, ",") != strings.Join(w.channels, ",") ||
					m.Data != w.payload || m.SocketID != w.socketID || m.ID != wantID || envs[i].Unoccupied != w.unoccupied {
					t.Fatalf("envelope %d = %+v\nwant %+v (id %s)", i, m, w, wantID)
				}
			}
		})
	}
}

func TestNotificationPayloadIsWhatEchoReceives(t *testing.T) {
	envs, err := Decode([]byte(`{"notification":{"id":"9f1c","type":"App\\Notifications\\EmailSent","notifiable_id":42,"data":{"subject":"Welcome","from":"admin"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := envs[0].Payload()
	var got map[string]string
	if err := json.Unmarshal([]byte(p), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"subject": "Welcome", "from": "admin", "id": "9f1c", "type": `App\Notifications\EmailSent`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("payload %v, want %v", got, want)
	}
}
