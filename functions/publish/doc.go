// Package publish is the PublishFunction: the Pusher HTTP API, so any Pusher
// server SDK works against herald by pointing its host at the API:
//
//	POST /apps/{app_id}/events and /apps/{app_id}/batch_events
//	GET  /apps/{app_id}/channels?filter_by_prefix=&info=user_count,subscription_count
//	GET  /apps/{app_id}/channels/{channel_name}?info=...
//	GET  /apps/{app_id}/channels/{channel_name}/users
//	POST /apps/{app_id}/users/{user_id}/terminate_connections
//
// Requests are authenticated with Pusher's request signing against
// herald's own publish credentials (PUBLISH_APP_ID, PUBLISH_APP_KEY,
// PUBLISH_APP_SECRET), not the provider's. In direct mode the events are
// broadcast before the answer; in queue mode they are sent to the broadcast
// queue and the answer comes once SQS has them, so the queue function
// delivers them with retries. The queries and terminate_connections are
// answered by the provider through the driver BROADCAST_CONNECTION selects
// (broadcast.Querier), in either mode.
//
// Refusals answer as Pusher does (a status and a plain-text reason, a JSON
// 404 for a route the API does not have) and are logged with their reason.
// Each publish request logs one info line counting its channels by kind,
// and each event a debug line naming its channels.
//
// The handler is a plain net/http handler; package httpapi adapts it to API
// Gateway HTTP API events.
package publish
