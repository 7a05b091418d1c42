package frontend

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/pipeline"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// newRecord starts the relay record of one HTTP request.
func newRecord(clientID string) *relay.Record {
	rec := relay.Get()
	rec.Start = time.Now()
	rec.ID = requestID(clientID)
	rec.Transport = "http"
	return rec
}

// reject answers with a gateway error the frontend makes itself.
func reject(x exchange, rec *relay.Record, status, code int, msg string) {
	out := pipeline.Reject(rec, status, nil, code, msg)
	send(x, &out)
}

func tooLarge(x exchange, rec *relay.Record, limit int64) {
	reject(x, rec, http.StatusRequestEntityTooLarge, jsonrpc.CodeInvalidRequest,
		"request body exceeds the limit of "+strconv.FormatInt(limit, 10)+" bytes")
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
