// Package publish is the PublishFunction: a Pusher HTTP API endpoint
// (POST /apps/{app_id}/events and /apps/{app_id}/batch_events), so any
// Pusher server SDK can broadcast through herald by pointing its host at
// the API.
//
// Requests are authenticated with Pusher's request signing against
// herald's own publish credentials (PUBLISH_APP_ID, PUBLISH_APP_KEY,
// PUBLISH_APP_SECRET), not the provider's. In direct mode the events are
// broadcast before the answer; in queue mode they are sent to the broadcast
// queue and the answer comes once SQS has them, so the queue function
// delivers them with retries.
//
// The handler is a plain net/http handler; package httpapi adapts it to API
// Gateway HTTP API events.
package publish
