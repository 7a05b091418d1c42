package schedule

// ClientWatcher is implemented by request contexts whose server does not
// end them when the client disconnects (fasthttp does not read the
// connection while a handler runs). While a request waits in a queue,
// Slots asks the context, found as ctx.Value(ClientWatcherKey), to watch
// its client and cancel itself if the client goes away, so a cancelled
// request leaves the queue at once. Watching costs a goroutine, so it is
// only done for requests that actually wait.
type ClientWatcher interface {
	// WatchClient starts the watch; stop ends it and returns once the
	// watch no longer touches the connection.
	WatchClient() (stop func())
}

type clientWatcherKey struct{}

// ClientWatcherKey is the context value key under which a request context
// offers its ClientWatcher.
var ClientWatcherKey any = clientWatcherKey{}
