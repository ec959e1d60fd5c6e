package protocol

import (
	"fmt"
	"strings"
)

// Info is what a Pusher HTTP API request asks to learn about channels: its
// comma-separated info parameter.
type Info struct {
	// UserCount (user_count) is the number of distinct users on a presence
	// channel.
	UserCount bool
	// SubscriptionCount (subscription_count) is the number of connections
	// subscribed.
	SubscriptionCount bool
}

// ParseInfo reads an info parameter ("user_count,subscription_count");
// empty means nothing. Unknown attributes are refused, as Pusher refuses
// them.
func ParseInfo(s string) (Info, error) {
	var i Info
	for f := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "user_count":
			i.UserCount = true
		case "subscription_count":
			i.SubscriptionCount = true
		default:
			return i, fmt.Errorf("info attribute %q is not user_count or subscription_count", f)
		}
	}
	return i, nil
}

// CheckInfo refuses user_count for a channel, or a filter_by_prefix, that
// is not a presence one: Pusher defines user_count on presence channels
// only.
func CheckInfo(i Info, channelOrPrefix string) error {
	if i.UserCount && KindOf(channelOrPrefix) != Presence {
		if channelOrPrefix == "" {
			return fmt.Errorf("info=user_count needs filter_by_prefix=presence- (only presence channels have users)")
		}
		return fmt.Errorf("info=user_count is only defined for presence- channels, not %q", channelOrPrefix)
	}
	return nil
}
