package signature

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AuthVersion is the only HTTP API signing version Pusher defines.
const AuthVersion = "1.0"

// MaxClockSkew is how far auth_timestamp may be from the server's clock
// before a signed request is refused, as Pusher's API does.
const MaxClockSkew = 600 * time.Second

// BodyMD5 returns the hex MD5 of a request body, as body_md5 carries it.
func BodyMD5(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}

// RequestString is the string Pusher signs for an HTTP API request:
// METHOD, path and the query (keys lowercased and sorted, auth_signature
// left out, values unescaped) joined by newlines.
func RequestString(method, path string, query url.Values) string {
	// Keys differing only by case merge into one; taking them in sorted
	// order makes the merged values' order, and so the signature, the same
	// on every call (map order is random).
	given := make([]string, 0, len(query))
	for k := range query {
		given = append(given, k)
	}
	sort.Strings(given)
	keys := make([]string, 0, len(query))
	lower := make(map[string][]string, len(query))
	for _, k := range given {
		v := query[k]
		lk := strings.ToLower(k)
		if lk == "auth_signature" {
			continue
		}
		if _, seen := lower[lk]; !seen {
			keys = append(keys, lk)
		}
		lower[lk] = append(lower[lk], v...)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range lower[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return strings.ToUpper(method) + "\n" + path + "\n" + b.String()
}

// SignRequest returns query with auth_key, auth_timestamp, auth_version,
// body_md5 (when body is not nil) and auth_signature added. query itself is
// not modified.
func SignRequest(method, path string, query url.Values, body []byte, key, secret string, now time.Time) url.Values {
	q := url.Values{}
	for k, v := range query {
		q[k] = append([]string(nil), v...)
	}
	q.Set("auth_key", key)
	q.Set("auth_timestamp", strconv.FormatInt(now.Unix(), 10))
	q.Set("auth_version", AuthVersion)
	if body != nil {
		q.Set("body_md5", BodyMD5(body))
	}
	q.Set("auth_signature", HMAC(secret, RequestString(method, path, q)))
	return q
}

// Reasons a signed request is refused. VerifyRequest wraps one of these.
var (
	ErrMissingAuth  = errors.New("missing authentication parameter")
	ErrUnknownKey   = errors.New("unknown auth_key")
	ErrBadTimestamp = errors.New("auth_timestamp is not within 600 seconds of the server's time")
	ErrBadVersion   = errors.New("unsupported auth_version")
	ErrBodyMD5      = errors.New("body_md5 does not match the body")
	ErrBadSignature = errors.New("invalid auth_signature")
)

// VerifyRequest checks a signed HTTP API request. secretFor returns the
// secret of a key and whether the key is known. The error wraps one of the
// Err* values above and names the parameter at fault, never a secret.
func VerifyRequest(method, path string, query url.Values, body []byte, secretFor func(key string) (string, bool), now time.Time) error {
	for _, p := range []string{"auth_key", "auth_timestamp", "auth_signature"} {
		if query.Get(p) == "" {
			return fmt.Errorf("%w: %s", ErrMissingAuth, p)
		}
	}
	if v := query.Get("auth_version"); v != "" && v != AuthVersion {
		return fmt.Errorf("%w %q (want %s)", ErrBadVersion, v, AuthVersion)
	}
	secret, ok := secretFor(query.Get("auth_key"))
	if !ok {
		return ErrUnknownKey
	}
	ts, err := strconv.ParseInt(query.Get("auth_timestamp"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: not a number", ErrBadTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxClockSkew || d < -MaxClockSkew {
		return ErrBadTimestamp
	}
	if len(body) > 0 || query.Has("body_md5") {
		if query.Get("body_md5") == "" {
			return fmt.Errorf("%w: body_md5", ErrMissingAuth)
		}
		if !Equal(query.Get("body_md5"), BodyMD5(body)) {
			return ErrBodyMD5
		}
	}
	if !Equal(query.Get("auth_signature"), HMAC(secret, RequestString(method, path, query))) {
		return ErrBadSignature
	}
	return nil
}
