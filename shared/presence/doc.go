// Package presence is herald's presence table: which channels have at least
// one subscriber now, and who is a member of each presence channel, as the
// provider's webhooks report it (Pusher's channel_occupied, member_added,
// ...; Ably's channel.lifecycle, channel.occupancy and channel.presence).
//
// The provider retries webhooks and delivers them in no guaranteed order,
// so every write is conditional on the provider's time: a row only moves
// forward, and a late channel_vacated never overrides a newer
// channel_occupied. Every row carries an expiry (DynamoDB's TTL attribute)
// as a safety net against a webhook that never came: an expired row reads
// as absent.
//
// It is not a log of events (those go to the event bus) and not the
// provider's truth: it is as fresh as the last webhook.
package presence
