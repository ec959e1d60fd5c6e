// Package stack runs herald on one machine: the embedded Pusher-compatible
// server, the HTTP functions (AuthFunction and PublishFunction) on the routes
// the deployed HTTP API has, moto as the local AWS with template.yaml's
// resources, the demo page and a few local-only /dev endpoints the page
// uses.
//
// In moto the stack creates the broadcast queue and its DLQ (redrive
// policy, visibility timeout), the SNS topic and the EventBridge rule that
// feed the queue, the Outbox and Users tables with their streams, the
// idempotency table with TTL, and the provider secret. It then does what
// Lambda's event source mappings do: it long-polls the queue for the
// QueueFunction and reads each table's stream for the StreamFunction, with
// the template's batch sizes, batching windows, partial batch responses,
// bisection, retry limits and on-failure destination (poller_sqs.go,
// poller_stream.go). Anything an app writes to moto with its own SDK or
// the AWS CLI is broadcast the same way.
//
// Every function is the real handler, built in-process with the same
// FromEnv as its Lambda bootstrap, from the same environment variables as
// in production, completed by the Secrets Manager secret
// BROADCAST_SECRET_ARN names; each makes its own AWS clients from
// AWS_ENDPOINT_URL, the stack's moto. What differs locally are the
// defaults, which point the drivers at the embedded server and AWS at
// moto. The stack prints them at start-up, secrets included only when they
// are its own. Provider credentials given without a host reach hosted
// Pusher or Ably instead; with them, the JWT and publish secrets are never
// the public local ones (random for the run unless set).
//
// It is for development and tests, never for a Lambda: /dev/token signs a
// JWT for whoever asks on this machine. Every route answers only loopback
// Host names (no DNS rebinding), the auth function answers only the page's
// own origin by default, and the /dev writes take only JSON from the
// page's own origin (no cross-site form posts).
package stack
