// Package protocol holds the rules of Pusher's protocol that herald checks
// in more than one place: channel kinds and names, socket ids, the limits
// of Pusher's HTTP API and presence channels, and how Ably's Pusher adapter
// maps channels and splits API keys. Each rule lives here once, so the
// functions (which validate what apps send), the drivers (which talk to
// Pusher and Ably) and the local Pusher-compatible server (which validates
// what browsers and apps send it) refuse exactly the same things.
//
// It holds no state and does no I/O. Signatures are in shared/signature.
package protocol
