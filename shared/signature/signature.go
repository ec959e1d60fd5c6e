package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// HMAC returns the lowercase hex HMAC-SHA256 of msg under secret.
func HMAC(secret, msg string) string {
	return hex.EncodeToString(mac(secret, msg))
}

func mac(secret, msg string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// Equal compares two signatures in constant time.
func Equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// ChannelString is the string Pusher signs for a subscription:
// "socket_id:channel_name", with ":channel_data" for presence channels.
// Callers must have validated socketID and channel (neither may contain ':'),
// or one signature could pass for another channel.
func ChannelString(socketID, channel, channelData string) string {
	s := socketID + ":" + channel
	if channelData != "" {
		s += ":" + channelData
	}
	return s
}

// ChannelAuth returns the "auth" value pusher-js sends with a subscription:
// "key:hex(HMAC(secret, socket_id:channel[:channel_data]))".
func ChannelAuth(key, secret, socketID, channel, channelData string) string {
	return key + ":" + HMAC(secret, ChannelString(socketID, channel, channelData))
}

// UserString is the string Pusher signs for user sign-in:
// "socket_id::user::user_data".
func UserString(socketID, userData string) string {
	return socketID + "::user::" + userData
}

// UserAuth returns the "auth" value of a pusher:signin.
func UserAuth(key, secret, socketID, userData string) string {
	return key + ":" + HMAC(secret, UserString(socketID, userData))
}

// VerifyAuth checks an "auth" value ("key:signature") against the expected
// key, secret and signed string, in constant time.
func VerifyAuth(auth, key, secret, signed string) bool {
	want := key + ":" + HMAC(secret, signed)
	return Equal(auth, want)
}

// SharedSecret returns the base64 shared secret of a private-encrypted
// channel: SHA-256 of the channel name followed by the 32-byte master key.
func SharedSecret(channel string, masterKey []byte) string {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Webhook returns the X-Pusher-Signature of a webhook body.
func Webhook(secret string, body []byte) string {
	return HMAC(secret, string(body))
}
