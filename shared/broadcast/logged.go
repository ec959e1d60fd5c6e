package broadcast

import (
	"context"
	"log/slog"
)

// logged logs, at debug level, each message a network driver is asked to
// broadcast: its event name and channels, never its data, so a developer
// can see where an event went (an event for App.Models.User.42 that was
// meant for private-App.Models.User.42). A retry logs its messages again.
type logged struct {
	Driver
	log *slog.Logger
}

func (l logged) Broadcast(ctx context.Context, msgs []Message) error {
	if l.log.Enabled(ctx, slog.LevelDebug) {
		for i := range msgs {
			l.log.DebugContext(ctx, "broadcast", "driver", l.Name(), "event", msgs[i].Name, "channels", msgs[i].Channels)
		}
	}
	return l.Driver.Broadcast(ctx, msgs)
}
