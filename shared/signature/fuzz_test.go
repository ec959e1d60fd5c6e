package signature

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyRequest: VerifyRequest never panics on any request, accepts
// every request SignRequest signed (after a trip through the URL encoding),
// and refuses it once anything the signature covers is changed: the
// method, the path, the body, a parameter's value, a parameter added or
// removed, the clock past the allowed skew, or the secret.
func FuzzVerifyRequest(f *testing.F) {
	// Pusher's documented example request, and shapes SDKs send.
	f.Add("POST", "/apps/3/events", "", []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`), uint8(0), uint8(0))
	f.Add("POST", "/apps/3/batch_events", "info=user_count", []byte(`{"batch":[{"name":"a","channel":"b","data":"c"}]}`), uint8(1), uint8(1))
	f.Add("GET", "/apps/3/channels", "filter_by_prefix=presence-&info=user_count,subscription_count", []byte(nil), uint8(4), uint8(2))
	f.Add("post", "/apps/3/events", "a=1&a=2&B=3", []byte{}, uint8(5), uint8(3))
	f.Add("POST", "/apps/3/events", "auth_key=evil&auth_signature=00", []byte("x"), uint8(3), uint8(0))
	f.Add("POST", "/apps/3/events", "%zz=1;2", []byte("\x00\xff"), uint8(2), uint8(7))

	const key, secret = "278d425bdf160c739803", "7ad3773142a6692b25b8"
	secrets := func(k string) (string, bool) { return secret, k == key }
	now := time.Unix(1353088179, 0)

	f.Fuzz(func(t *testing.T, method, path, rawQuery string, body []byte, op, pick uint8) {
		// Arbitrary, unsigned input: any answer but a panic, and never
		// acceptance without the signature the secret makes.
		q, _ := url.ParseQuery(rawQuery)
		if err := VerifyRequest(method, path, q, body, secrets, now); err == nil {
			if !Equal(q.Get("auth_signature"), HMAC(secret, RequestString(method, path, q))) {
				t.Fatalf("accepted an unsigned request: %s %s?%s", method, path, rawQuery)
			}
		}

		// Keys that differ from auth_signature only by case are left out of
		// the signed string (Pusher's rule); changing them is no change.
		for k := range q {
			if k != "auth_signature" && strings.EqualFold(k, "auth_signature") {
				delete(q, k)
			}
		}
		signed := SignRequest(method, path, q, body, key, secret, now)
		wire, err := url.ParseQuery(signed.Encode())
		if err != nil {
			t.Fatalf("signed query does not parse back: %v", err)
		}
		if err := VerifyRequest(method, path, wire, body, secrets, now); err != nil {
			t.Fatalf("refused its own signed request: %v", err)
		}

		m, p, b, at, s := method, path, body, now, secret
		mq := url.Values{}
		for k, v := range wire {
			mq[k] = append([]string(nil), v...)
		}
		keys := make([]string, 0, len(mq))
		for k := range mq {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		switch op % 8 {
		case 0:
			b = append(append([]byte(nil), body...), 'x')
		case 1:
			if len(body) == 0 {
				b = []byte("x")
			} else {
				b = append([]byte(nil), body...)
				b[int(pick)%len(b)] ^= 1 << (pick % 8)
			}
		case 2:
			m = method + "X"
		case 3:
			p = path + "/"
		case 4:
			k := keys[int(pick)%len(keys)]
			mq[k][0] += "x"
		case 5:
			mq.Add("x-added", string(rune('a'+pick%26)))
		case 6:
			delete(mq, keys[int(pick)%len(keys)])
		case 7:
			if pick%2 == 0 {
				at = now.Add(MaxClockSkew + time.Second)
			} else {
				s = secret + "x"
			}
		}
		other := func(string) (string, bool) { return s, true }
		if err := VerifyRequest(m, p, mq, b, other, at); err == nil {
			t.Fatalf("accepted a request changed by op %d (pick %d): %s %s?%s", op%8, pick, m, p, mq.Encode())
		}
	})
}
