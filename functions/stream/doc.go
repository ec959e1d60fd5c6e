// Package stream is the StreamFunction: it broadcasts DynamoDB stream
// records, per table in one of two modes configured in YAML (STREAM_TABLES
// or STREAM_TABLES_FILE), keyed by the table name in the record's event
// source ARN.
//
//   - model: Laravel's model broadcasting. INSERT, MODIFY and REMOVE become
//     {Model}Created, {Model}Updated and {Model}Deleted with payload
//     {"model": {...}} (the old image on REMOVE), on channels filled from the
//     item's attributes. Hidden attributes are never broadcast; MODIFY
//     records whose visible attributes did not change are skipped.
//   - outbox: each INSERT is an envelope row the app wrote in the same
//     transaction as its change; it is broadcast as written.
//
// Attribute values become plain JSON (see ToJSON). The partial batch
// response names records by SequenceNumber. Poison records go to the
// dead-letter queue like the queue function's.
package stream
