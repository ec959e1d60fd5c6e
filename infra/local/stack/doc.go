// Package stack runs herald on one machine: the embedded Pusher-compatible
// server, the HTTP functions (AuthFunction and PublishFunction) on the routes
// the deployed HTTP API has, a local SQS endpoint whose broadcast queue feeds
// the QueueFunction the way Lambda's event source mapping does, the demo page
// and a few local-only /dev endpoints the page uses.
//
// Every function is the real handler, built in-process from the same
// environment variables as in production (completed, when
// BROADCAST_SECRET_ARN is set, by that Secrets Manager secret); what differs
// locally are the defaults, which point the drivers at the embedded server.
// The stack prints them at start-up, secrets included only when they are
// its own defaults. Provider credentials given without a host reach hosted
// Pusher or Ably instead.
//
// It is for development and tests, never for a Lambda: /dev/token signs a
// JWT for whoever asks.
package stack
