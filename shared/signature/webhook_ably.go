package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// AblyWebhook returns the X-Ably-Signature of a signed webhook body: the
// base64 HMAC-SHA256 of the raw body, keyed with the secret part of the
// API key X-Ably-Key names (after the ':', not the whole key).
func AblyWebhook(secret string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
