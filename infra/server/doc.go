// Package server is a Pusher Channels compatible server for local runs and
// tests: the WebSocket protocol 7 that pusher-js speaks, the signed Pusher
// HTTP API that the server SDKs call (publishing, channel queries,
// terminate_connections), and the part of Ably's REST API that ably-go uses
// to publish and to ask about channels (status and occupancy, enumeration,
// presence), mapped onto Pusher channels the way Ably's Pusher adapter maps
// them. An event that reaches no subscriber is logged, with a hint when a
// private- or presence- channel of the same name has subscribers.
//
// It plays the part soketi or Laravel Reverb play for a Laravel app, so
// herald runs end to end on one machine without a Pusher or Ably account.
//
// It keeps everything in memory in one process: no clustering, no
// persistence, no webhooks, no cache channels, no watchlists, no
// subscription_count events, and only the ws transport (no HTTP fallback).
// Production keeps using hosted Pusher or Ably; this package exists so that
// code that works against it works against them, and so tests can exercise
// the real client SDKs.
//
// Use:
//
//	srv, err := server.New(server.Config{
//		Apps: []server.App{{ID: "1", Key: "key", Secret: "secret"}},
//		Ably: &server.AblyConfig{Key: "appId.keyId:secret"}, // optional
//	})
//	...
//	err = srv.Serve(ctx, listener) // until ctx ends, then drains
//
// or mount srv.Handler() in an http.Server of your own and call Drain on
// the way out. Connections and Channel report what tests wait for.
//
// Signatures come from shared/signature, and channel names, socket ids and
// Pusher's limits from shared/protocol: the same code the auth and publish
// functions use.
//
// Each WebSocket connection costs two goroutines (reader and writer) and a
// bounded send queue; a client that cannot keep up is disconnected with
// 4100 rather than allowed to block a broadcast or grow memory.
//
// Tests: go test ./infra/server runs the protocol tests, the real SDKs
// (pusher-js, the npm pusher package, pusher-http-go, ably-go; Node scripts
// under testdata) and a 200-connection load test. HERALD_LOAD=1 runs the
// load test with 5,000 connections (it needs about 10,100 open files and
// raises the soft limit itself when the hard limit allows);
// go test -fuzz FuzzDispatch fuzzes frame dispatch; HERALD_SERVER_LOG=1
// prints the server's debug logs during tests.
package server
