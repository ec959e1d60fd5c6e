// Package auth is the AuthFunction: it decides whether a browser may join a
// private, presence or encrypted channel, or sign in as a user, and signs
// the answer pusher-js (or Laravel Echo) needs. It is the system's security
// boundary: a wrong yes hands one user's events to another.
//
// Handler serves two routes:
//
//	POST /broadcasting/auth       socket_id, channel_name -> {"auth", "channel_data"?, "shared_secret"?}
//	POST /broadcasting/user-auth  socket_id               -> {"auth", "user_data"}
//
// The caller is identified by a bearer JWT (package token), or by the claims
// API Gateway's JWT authorizer already verified when the function is told
// to trust them. Who may join what is a rules file (package rules) compiled
// at start-up; the default one ships inside the binary. Signatures come
// from shared/signature, with the key and secret of the configured driver
// (Pusher, or Ably's Pusher adapter).
//
// Every refusal is JSON {"error": "..."} with 400 (malformed request or a
// channel that needs no or cannot have auth), 401 (no or bad credentials),
// 403 (not allowed) or 413 (body over 16 KB), worded for the developer
// reading pusher-js's failed-auth event. Nothing logged or returned contains
// a token, a secret or a signature's key material.
package auth
