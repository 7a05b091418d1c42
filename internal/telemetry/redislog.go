package telemetry

import (
	"context"
	"fmt"
	"log/slog"
)

// RedisLogger adapts slog for go-redis (redis.SetLogger): its own messages
// (a dial failure while Redis is down, a reconnecting pub/sub) become
// warn-level records in the process's log stream instead of plain-text
// lines in the middle of the JSON log. Messages are redacted: they can
// quote a Redis URL.
type RedisLogger struct{ Log *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (l RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if !l.Log.Enabled(ctx, slog.LevelWarn) {
		return
	}
	l.Log.LogAttrs(ctx, slog.LevelWarn, "redis", slog.String("detail", Redact(fmt.Sprintf(format, v...))))
}
