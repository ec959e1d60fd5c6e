package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/infra/testkit"
)

var masterKey = []byte("an-example-32-byte-master-key!!!")

// signedCase is one generated request and the handler's answer to it.
type signedCase struct {
	Type        string `json:"type"` // "channel" or "user"
	SocketID    string `json:"socket_id"`
	Channel     string `json:"channel,omitempty"`
	ChannelData string `json:"channel_data,omitempty"`
	UserData    string `json:"user_data,omitempty"`

	sub     string
	info    map[string]any
	answer  map[string]string
	strInfo bool // info holds only strings free of <>&: pusher-http-go can express it
}

const nameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=@,;"

func randFrom(r *rand.Rand, chars string, min, max int) string {
	n := min + r.IntN(max-min+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// randText mixes ASCII, quotes, backslashes, HTML characters and non-ASCII
// runes. U+2028/U+2029 are left out: Go's JSON escapes them and
// JSON.stringify does not, so the two would sign different (equally valid)
// bytes.
func randText(r *rand.Rand, max int) string {
	pool := []string{"a", "Z", "7", " ", `"`, `\`, "/", "<", ">", "&", "'", "é", "ß", "日本", "😀", "\t", "\n", ":", "::user::", "{", "}"}
	var b strings.Builder
	for n := r.IntN(max + 1); n > 0; n-- {
		b.WriteString(pool[r.IntN(len(pool))])
	}
	return b.String()
}

// randInfo builds a JSON object. Keys start with a letter: JavaScript
// orders integer-like keys numerically, Go sorts all keys as strings.
func randInfo(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for n := r.IntN(4); n >= 0; n-- {
		key := "k" + randText(r, 5)
		switch x := r.IntN(7); {
		case x == 0 && depth < 2:
			m[key] = randInfo(r, depth+1)
		case x == 1 && depth < 2:
			m[key] = []any{randText(r, 4), float64(r.IntN(1000)), r.IntN(2) == 0, nil}
		case x == 2:
			m[key] = float64(r.IntN(100000)) / 8 // exact in binary, short in decimal
		case x == 3:
			m[key] = r.IntN(2) == 0
		case x == 4:
			m[key] = nil
		default:
			m[key] = randText(r, 12)
		}
	}
	return m
}

func randStrInfo(r *rand.Rand) map[string]any {
	m := map[string]any{}
	for n := r.IntN(4); n >= 0; n-- {
		m["k"+randFrom(r, nameChars, 1, 6)] = strings.NewReplacer("<", "", ">", "", "&", "").Replace(randText(r, 10))
	}
	return m
}

// generate makes n cases of each kind and gets the handler's answers.
func generate(t *testing.T, n int) []*signedCase {
	t.Helper()
	h := newHandler(t, map[string]string{auth.EnvMasterKey: base64.StdEncoding.EncodeToString(masterKey)})
	r := rand.New(rand.NewPCG(4, 2))
	var cases []*signedCase
	for i := 0; i < n; i++ {
		socket := fmt.Sprintf("%d.%d", r.Uint32(), r.Uint32())
		seg := randFrom(r, nameChars, 1, 40)
		cases = append(cases,
			&signedCase{Type: "channel", SocketID: socket, Channel: "private-any." + seg, sub: "u" + seg},
			&signedCase{Type: "channel", SocketID: socket, Channel: "private-encrypted-any." + seg, sub: "u" + seg},
			&signedCase{Type: "channel", SocketID: socket, Channel: "presence-any." + seg, sub: randText(r, 20) + "x", info: randInfo(r, 0)},
			&signedCase{Type: "channel", SocketID: socket, Channel: "presence-any." + seg, sub: randFrom(r, nameChars, 1, 30), info: randStrInfo(r), strInfo: true},
			&signedCase{Type: "user", SocketID: socket, sub: randFrom(r, nameChars, 1, 60)},
		)
	}
	for _, c := range cases {
		tok := hsToken(t, claims(c.sub, func(m jwt.MapClaims) {
			if c.info != nil {
				m["info"] = c.info
			}
		}))
		var got reply
		if c.Type == "user" {
			got = post(t, h, auth.PathUserAuth, formType, form("socket_id", c.SocketID), tok)
		} else {
			got = post(t, h, auth.PathAuth, formType, form("socket_id", c.SocketID, "channel_name", c.Channel), tok)
		}
		if got.status != 200 {
			t.Fatalf("%+v: %d %s", c, got.status, got.raw)
		}
		c.answer, c.ChannelData, c.UserData = got.body, got.body["channel_data"], got.body["user_data"]
	}
	return cases
}

// TestCrossCheckNPM: the npm "pusher" package (Pusher's Node SDK, which
// Laravel's JavaScript-side counterpart follows) signs every generated case
// exactly as the handler did.
func TestCrossCheckNPM(t *testing.T) {
	cases := generate(t, 40)
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "pusher_crosscheck.js"))
	if err != nil {
		t.Fatal(err)
	}
	out := testkit.RunNode(t, 2*time.Minute, []string{
		"KEY=" + vectorKey, "SECRET=" + vectorSecret, "MASTER_KEY_BASE64=" + base64.StdEncoding.EncodeToString(masterKey),
	}, script, file)
	var npm []map[string]string
	if err := json.Unmarshal([]byte(out), &npm); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	if len(npm) != len(cases) {
		t.Fatalf("node answered %d cases of %d", len(npm), len(cases))
	}
	for i, c := range cases {
		if !sameAnswer(c.answer, npm[i]) {
			t.Errorf("case %d (%s %s):\n herald %v\n npm    %v", i, c.Type, c.Channel, c.answer, npm[i])
		}
	}
}

func sameAnswer(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCrossCheckPusherGo: pusher-http-go gives the same answers wherever it
// can express the case (its presence info is a map of strings, and its JSON
// escapes <, > and &).
func TestCrossCheckPusherGo(t *testing.T) {
	client := pusher.Client{AppID: "1", Key: vectorKey, Secret: vectorSecret, EncryptionMasterKeyBase64: base64.StdEncoding.EncodeToString(masterKey)}
	checked := 0
	for i, c := range generate(t, 40) {
		params := []byte(form("socket_id", c.SocketID, "channel_name", c.Channel))
		var resp []byte
		var err error
		switch {
		case c.Type == "user":
			resp, err = client.AuthenticateUser([]byte(form("socket_id", c.SocketID)), map[string]any{"id": c.sub})
		case strings.HasPrefix(c.Channel, "presence-"):
			if !c.strInfo {
				continue
			}
			info := map[string]string{}
			for k, v := range c.info {
				info[k] = v.(string)
			}
			resp, err = client.AuthorizePresenceChannel(params, pusher.MemberData{UserID: c.sub, UserInfo: info})
		default:
			resp, err = client.AuthorizePrivateChannel(params)
		}
		if err != nil {
			t.Fatalf("case %d: pusher-http-go: %v", i, err)
		}
		var want map[string]string
		if err := json.Unmarshal(resp, &want); err != nil {
			t.Fatal(err)
		}
		if !sameAnswer(c.answer, want) {
			t.Errorf("case %d (%s %s):\n herald         %v\n pusher-http-go %v", i, c.Type, c.Channel, c.answer, want)
		}
		checked++
	}
	if checked < 150 {
		t.Errorf("only %d cases checked", checked)
	}
}
