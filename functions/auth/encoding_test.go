package auth

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/heraldrt/herald/functions/auth/rules"
)

// awkward are strings that need every kind of escaping.
var awkward = []string{"", "a", `x"y\z`, "<script>&</script>", "line\nbreak\ttab\x00\x7f", "\u2028\u2029", "é€😀", "\xff\xfe", "key:" + "0123456789abcdef"}

// The answers are the bytes encoding/json's defaults write, as they always
// were: a client sees no change.
func TestAnswersAsEncodingJSON(t *testing.T) {
	check := func(t *testing.T, v any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		writeJSON(w, 200, v)
		if got := w.Body.String(); got != string(want) {
			t.Errorf("%s, encoding/json writes %s", got, want)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
	for _, a := range awkward {
		for _, b := range awkward {
			for _, c := range []string{"", "c2VjcmV0"} {
				check(t, channelResponse{Auth: a, ChannelData: b, SharedSecret: c})
			}
			check(t, userResponse{Auth: a, UserData: b})
		}
		check(t, errorResponse{Error: a})
	}
}

// channel_data and user_data are written as JSON.stringify writes them (no
// HTML escaping, U+2028 as it is), with object keys sorted, and without
// user_info when there is none.
func TestMemberData(t *testing.T) {
	nested := map[string]any{"b": 1.5, "a": []any{true, nil, "\u2028"}, "nested": map[string]any{"z": "é"}}
	tests := []struct {
		m        rules.Member
		presence string
		user     string // "": cannot sign in
	}{
		{rules.Member{ID: "42"}, `{"user_id":"42"}`, `{"id":"42"}`},
		{rules.Member{ID: "42", Info: map[string]any{}}, `{"user_id":"42"}`, `{"id":"42"}`},
		{rules.Member{ID: "alice@example.com", Info: map[string]any{"name": "Alice <admin> & co"}},
			`{"user_id":"alice@example.com","user_info":{"name":"Alice <admin> & co"}}`,
			`{"id":"alice@example.com","user_info":{"name":"Alice <admin> & co"}}`},
		{rules.Member{ID: "é", Info: nested},
			"{\"user_id\":\"é\",\"user_info\":{\"a\":[true,null,\"\u2028\"],\"b\":1.5,\"nested\":{\"z\":\"é\"}}}", ""},
		{rules.Member{ID: `q"<b>`}, `{"user_id":"q\"<b>"}`, ""},
	}
	for _, tt := range tests {
		got, err := presenceData(tt.m)
		if err != nil || got != tt.presence {
			t.Errorf("presenceData(%+v) = %s, %v; want %s", tt.m, got, err, tt.presence)
		}
		got, err = userData(tt.m)
		if tt.user == "" {
			if err == nil {
				t.Errorf("userData(%+v) = %s; want a refusal", tt.m, got)
			}
			continue
		}
		if err != nil || got != tt.user {
			t.Errorf("userData(%+v) = %s, %v; want %s", tt.m, got, err, tt.user)
		}
	}
}
