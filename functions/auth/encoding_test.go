package auth

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/heraldrt/herald/functions/auth/rules"
)

// awkward are strings that need every kind of escaping.
var awkward = []string{"", "a", `x"y\z`, "<script>&</script>", "line\nbreak\ttab\x00\x7f", "\u2028\u2029", "é€😀", "\xff\xfe", "key:" + "0123456789abcdef"}

// The hand-written answers are the bytes json.Marshal writes for the
// structs they replaced.
func TestAnswersAsEncodingJSON(t *testing.T) {
	type channelJSON struct {
		Auth         string `json:"auth"`
		ChannelData  string `json:"channel_data,omitempty"`
		SharedSecret string `json:"shared_secret,omitempty"`
	}
	type userJSON struct {
		Auth     string `json:"auth"`
		UserData string `json:"user_data"`
	}
	type errorJSON struct {
		Error string `json:"error"`
	}
	check := func(t *testing.T, got jsonAnswer, want any) {
		t.Helper()
		w, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if g := got.appendJSON(nil); !bytes.Equal(g, w) {
			t.Errorf("%s, json.Marshal writes %s", g, w)
		}
	}
	for _, a := range awkward {
		for _, b := range awkward {
			for _, c := range []string{"", "c2VjcmV0"} {
				check(t, channelResponse{Auth: a, ChannelData: b, SharedSecret: c}, channelJSON{a, b, c})
			}
			check(t, userResponse{Auth: a, UserData: b}, userJSON{a, b})
		}
		check(t, errorResponse{Error: a}, errorJSON{a})
	}
}

// channel_data and user_data are the bytes an Encoder without HTML
// escaping writes for the structs they replaced.
func TestMemberDataAsEncodingJSON(t *testing.T) {
	type presenceJSON struct {
		UserID   string          `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info,omitempty"`
	}
	type userJSON struct {
		ID       string          `json:"id"`
		UserInfo json.RawMessage `json:"user_info,omitempty"`
	}
	users := 0
	infos := []map[string]any{nil, {}, {"name": "Alice <admin> & co"}, {"b": 1.5, "a": []any{true, nil, "\u2028"}, "nested": map[string]any{"z": "é"}}}
	for _, id := range []string{"42", "alice@example.com", `q"uote`, "<b>", "é"} {
		for _, info := range infos {
			m := rules.Member{ID: id, Info: info}
			raw, err := checkMember(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := encode(presenceJSON{UserID: id, UserInfo: raw})
			if err != nil {
				t.Fatal(err)
			}
			got, err := presenceData(m)
			if err != nil || got != string(want) {
				t.Errorf("presenceData(%q, %v) = %s, %v; want %s", id, info, got, err, want)
			}
			want, err = encode(userJSON{ID: id, UserInfo: raw})
			if err != nil {
				t.Fatal(err)
			}
			// Only ids that can name a user channel sign in.
			got, err = userData(m)
			if err != nil {
				continue
			}
			users++
			if got != string(want) {
				t.Errorf("userData(%q, %v) = %s; want %s", id, info, got, want)
			}
		}
	}
	if users == 0 {
		t.Fatal("no id could sign in")
	}
}
