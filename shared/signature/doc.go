// Package signature implements Pusher's HMAC-SHA256 signatures: channel
// subscription and user sign-in auth strings, the shared secret of
// end-to-end encrypted channels, HTTP API request signing, and webhook
// signatures.
//
// Both sides use it: the auth function signs what pusher-js asks for, the
// publish function and the local server verify signed HTTP API requests, and
// the local server verifies subscriptions. Verification compares in constant
// time. Nothing here logs, and no error message contains a secret.
package signature
