// Package webhook is the WebhookFunction: it receives the provider's
// webhooks behind the HTTP API (POST /webhooks/pusher, POST
// /webhooks/ably), keeps the presence table (shared/presence) up to date
// from them, and forwards every event to the herald event bus as
// "herald.<event>" (herald.member_added, herald.channel_vacated, ...), so
// apps react with EventBridge rules.
//
// A request is verified before anything is read from it: Pusher's
// X-Pusher-Key and X-Pusher-Signature (hex HMAC-SHA256 of the raw body
// under the app secret), Ably's X-Ably-Key and X-Ably-Signature (base64
// HMAC-SHA256 under the key's secret part). A bad signature or an unknown
// key is answered 401 and a malformed body 400; neither stores anything.
// Providers retry: a request handled once is recognised by its digest and
// changes nothing the second time, and the table's writes are ordered by
// the provider's time whatever order requests arrive in.
package webhook
