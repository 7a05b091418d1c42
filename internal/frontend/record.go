package frontend

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// record is what one request did, for its log line and metrics.
type record struct {
	start    time.Time
	id       string
	chain    *fleet.Chain
	group    string
	key      string // API key name; "" for anonymous
	plan     string
	method   string // bounded, for metrics
	methods  string // as sent, for the log
	batch    int
	node     string
	attempts int
	status   int
	code     int
	bytes    int
}

func (rec *record) json(x exchange, status int, body []byte) {
	if body == nil {
		body = []byte{}
	}
	x.send(status, body)
	rec.status, rec.bytes = status, len(body)
}

func (rec *record) noContent(x exchange) {
	rec.status = http.StatusNoContent
	x.send(rec.status, nil)
}

// error answers with a JSON-RPC error object; id is the raw client id (nil
// answers null).
func (rec *record) error(x exchange, status int, id []byte, code int, msg string, retryAfter int) {
	if id == nil {
		id = []byte("null")
	}
	if retryAfter > 0 {
		x.setHeader("Retry-After", strconv.Itoa(retryAfter))
	}
	rec.code = code
	rec.json(x, status, jsonrpc.AppendError(nil, id, code, msg, nil))
}

func (rec *record) tooLarge(x exchange, limit int64) {
	rec.error(x, http.StatusRequestEntityTooLarge, nil, jsonrpc.CodeInvalidRequest,
		"request body exceeds the limit of "+strconv.FormatInt(limit, 10)+" bytes", 0)
}

// requestID keeps a client's X-Request-ID when it is sane (1–128
// characters of letters, digits and -_.:) and makes a new one otherwise,
// so ids can be logged and echoed without escaping or log injection.
func requestID(client string) string {
	if n := len(client); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n && ok; i++ {
			c := client[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		}
		if ok {
			return client
		}
	}
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}
