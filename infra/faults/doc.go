// Package faults is herald's fault-injection suite: it runs the real queue
// and stream handlers, with the real pusher driver, retry decorator and
// idempotency store, against a provider that fails a share of calls, and
// counts what reaches a WebSocket subscriber of the local
// Pusher-compatible server (package server), not what the provider was
// sent. The AWS parts are moto's (testkit.Moto): the queues, their redrive
// policy and the dead-letter queues on its SQS, the idempotency table on
// its DynamoDB.
//
// The pieces, usable on their own:
//
//   - Provider, an http.Handler in front of the server's Pusher HTTP API
//     that fails a seeded share of publish calls with 500, 429, a slow
//     answer past the client's timeout, or a dropped connection, none of
//     which reach the server; optionally the ambiguous kinds, where the
//     server accepted the events and the answer is then lost or late.
//   - Subscriber, a Pusher protocol 7 client (coder/websocket) counting
//     events by serial, with Sync to wait for sentinels instead of
//     sleeping.
//   - QueueLoop, Lambda's SQS event source mapping with
//     ReportBatchItemFailures, over a real SQS API: it deletes only what
//     the function reported handled, leaves the rest to come back, and
//     ends their visibility timeout itself instead of waiting the
//     template's 180 s; the queue's redrive policy is SQS's own.
//   - Produce, a producer that keeps the queue a few batches deep, since
//     moto's receives slow down with the depth of the queue.
//   - Shard, Lambda's DynamoDB stream event source mapping on one shard
//     with ReportBatchItemFailures: the checkpoint moves to the lowest
//     failed sequence number, so that record and all later ones come
//     again, none before it; a function error bisects the batch.
//
// go test ./infra/faults runs 1,000 events per case (300 with -short);
// HERALD_FAULTS_FULL=1 runs 10,000 (make load).
//
// What it is not: a benchmark (no timing is asserted), or a model of
// Lambda's scaling or of its stream retry limits: a Shard retries until
// every record is delivered or dead-lettered, while the queue's retries
// end where its redrive policy says.
package faults
