package broadcast

import (
	"context"
	"log/slog"

	"github.com/heraldrt/herald/shared/protocol"
)

// LogMaxDataBytes is the log and null drivers' data limit: CloudWatch Logs
// keeps events up to 256 KB, so a larger line would be cut.
const LogMaxDataBytes = 256 * 1024

// Log writes each message as one structured log line instead of sending it
// (Laravel's log broadcaster), for local runs and debugging.
//
// The line carries the event name, channels, socket_id and id when set, the
// data size, and the data itself: the point of this driver is seeing what
// would have been broadcast, as Laravel's log driver shows the payload. Do
// not select it where payloads must stay out of logs.
type Log struct {
	logger *slog.Logger
}

var _ Driver = (*Log)(nil)

// NewLog returns a log driver writing to logger (slog.Default() when nil).
func NewLog(logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{logger: logger}
}

// Name implements Driver.
func (l *Log) Name() string { return "log" }

// Limits implements Driver.
func (l *Log) Limits() Limits {
	return Limits{MaxDataBytes: LogMaxDataBytes, MaxChannelsPerCall: protocol.MaxChannelsPerTrigger, MaxEventsPerCall: protocol.MaxBatchEvents}
}

// Broadcast implements Driver. It fails only when ctx is already done, like
// a network driver that cannot start.
func (l *Log) Broadcast(ctx context.Context, msgs []Message) error {
	if err := ctx.Err(); err != nil {
		return &Error{Provider: "log", Op: "log", Temporary: TemporaryCause(err), Err: err}
	}
	for i := range msgs {
		m := &msgs[i]
		attrs := make([]slog.Attr, 0, 6)
		attrs = append(attrs, slog.String("event", m.Name), slog.Any("channels", m.Channels))
		if m.SocketID != "" {
			attrs = append(attrs, slog.String("socket_id", m.SocketID))
		}
		if m.ID != "" {
			attrs = append(attrs, slog.String("id", m.ID))
		}
		attrs = append(attrs, slog.Int("data_bytes", len(m.Data)), slog.String("data", m.Data))
		l.logger.LogAttrs(ctx, slog.LevelInfo, "broadcast", attrs...)
	}
	return nil
}
