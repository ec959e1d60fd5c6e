// Command bench measures herald against its physical limits and against the
// Node.js alternative, all on loopback, in one run (make bench):
//
//   - Fan-out: the queue function's handler with the real pusher and ably
//     drivers, fed SQS batches of 10, 1,000 and 10,000 messages, against
//     provider stand-ins that answer an injected round trip (20 ms) after
//     each request arrives and count requests and events. Beside it, two Node.js handlers using
//     the npm pusher package against the same stand-in: the idiomatic one
//     (await pusher.trigger per message) and a tuned one (triggerBatch in
//     chunks of 10, bounded in flight). Every run must deliver exactly one
//     event to each of its N channels, or the benchmark fails.
//   - Cold start: each function's release build started under the AWS
//     Lambda Runtime Interface Emulator, beside a hello-world aws-lambda-go
//     binary; arm64 binary sizes; the handler's peak RSS on the largest
//     batch.
//   - Auth: requests per second and latency of the auth function's handler
//     and of a Node.js peer (node:http, jsonwebtoken, pusher's
//     authorizeChannel) under the same load.
//   - Backpressure: one SQS batch of 3,000 messages through the queue
//     function's handler against infra/server behind the ratelimit
//     stand-in admitting 50 requests/s (429 with Retry-After beyond it);
//     what it reports for retry is delivered again at once, until all
//     arrived. Refused share, goodput against the limit, lost and
//     duplicated events.
//   - Scale: the scale model (what a rate of events with a fan-out takes
//     in provider requests, Lambda invocations and concurrency, DynamoDB
//     capacity, and where the provider's limit saturates) and a burst of
//     1,000,000 events simulated through the real limiter and the
//     stand-in's token bucket on a simulated clock (simulate.go says what
//     is simulated), plotted to infra/bench/burst.png.
//
// Results go to stdout as Markdown tables and to infra/bench/results.md,
// each figure beside its target with PASS or MISS and by how much; the
// machine and its load average are recorded with them. Progress goes to
// stderr.
//
// Each measured handler runs in its own process so that CPU time and peak
// RSS are its own: this program re-executes itself as a worker (see
// envWorker), and the Node.js scripts in node/ run under node with
// NODE_PATH at infra/node/node_modules.
//
// What it is not: a test of speed. bench_test.go runs every part on tiny
// inputs and checks only that everything arrived; the targets are stated
// here and judged by whoever reads the table.
package main
