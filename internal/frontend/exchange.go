package frontend

import (
	"context"

	"github.com/rpcgate/rpcgate/internal/tenant"
)

// exchange is one HTTP request and its answer as the serving flow sees
// them, whichever HTTP server carries them: fasthttp on the public
// listener (fast.go), net/http through ServeHTTP (http.go). Strings it
// returns may point into the server's buffers and are valid only until the
// answer is sent and the flow returns.
type exchange interface {
	tenant.Request

	method() string
	host() string
	path() string
	// body is the whole request body, or errBodyTooLarge once it passes
	// limit bytes.
	body(limit int64) ([]byte, error)
	// ctx bounds the work done for the request.
	ctx() context.Context
	// appendPeer appends the TCP peer (ip:port) for the log line.
	appendPeer(b []byte) []byte

	setHeader(name, value string)
	// send answers with status and, when body is not nil, a JSON body. It
	// is called once.
	send(status int, body []byte)
}
