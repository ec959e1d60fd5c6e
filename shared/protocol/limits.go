package protocol

// Pusher's documented limits for multi-tenant clusters. Lengths are in
// bytes: for the ASCII names Pusher allows, bytes and characters agree,
// and counting bytes never lets through what Pusher would refuse.
const (
	// MaxChannelNameLength is the longest channel name (164; pusher-http-go
	// accepts 200, the service does not).
	MaxChannelNameLength = 164
	// MaxEventNameLength is the longest event name the HTTP API accepts.
	MaxEventNameLength = 200
	// MaxChannelsPerTrigger is how many channels one trigger may name.
	MaxChannelsPerTrigger = 100
	// MaxBatchEvents is how many events one batch_events call may carry;
	// pusher-http-go does not enforce it, the API answers 400 above it.
	MaxBatchEvents = 10
	// MaxDataBytes is the largest event data on Pusher's standard plans
	// (10 KB); some plans raise it.
	MaxDataBytes = 10240
	// MaxUserIDLength is the longest presence or sign-in user id.
	MaxUserIDLength = 128
	// MaxUserInfoBytes is the largest user_info of a presence member.
	MaxUserInfoBytes = 1024
)

// Ably's documented limits, for the Ably driver and the local server's
// Ably endpoint.
const (
	// AblyMaxMessageBytes is the largest message on Ably's Free and Standard
	// packages (64 KiB); Ably counts name and data together.
	AblyMaxMessageBytes = 65536
	// AblyMaxBatchChannels is how many channels one batch publish spec may
	// name.
	AblyMaxBatchChannels = 100
	// AblyMaxBatchBytes is the largest batch publish request body (2 MiB).
	AblyMaxBatchBytes = 2 << 20
)
