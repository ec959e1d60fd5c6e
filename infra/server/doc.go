// Package server is a Pusher Channels compatible server for local runs and
// tests: the WebSocket protocol 7 that pusher-js speaks, the signed Pusher
// HTTP API that the server SDKs call, and the part of Ably's REST API that
// ably-go uses to publish, mapped onto Pusher channels the way Ably's Pusher
// adapter maps them. It plays the part soketi or Laravel Reverb play for a
// Laravel app, so herald runs end to end on one machine without a Pusher or
// Ably account.
//
// It keeps everything in memory in one process: no clustering, no
// persistence, no webhooks, no cache channels, no watchlists. Production
// keeps using hosted Pusher or Ably; this package exists so that code that
// works against it works against them, and so tests can exercise the real
// client SDKs.
//
// Signatures and channel naming come from shared/signature and
// shared/channel, the same code the auth and publish functions use.
//
// Each WebSocket connection costs two goroutines (reader and writer) and a
// bounded send queue; a client that cannot keep up is disconnected rather
// than allowed to block a broadcast or grow memory.
package server
