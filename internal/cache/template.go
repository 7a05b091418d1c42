package cache

import (
	"bytes"
	"encoding/binary"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Template is a node's whole answer with the id cut out: a cached answer
// is the node's bytes with the asking client's id spliced in, so it is
// byte-identical to what the node would have sent that client (field
// order, spacing and a trailing newline included).
type Template struct {
	// Body is the node's answer without its id; the id goes at IDAt.
	Body []byte
	IDAt int
}

// NewTemplate copies a node's answer body into a template, with the scan
// of the answer. ok is false when body is not one JSON-RPC response with
// an id.
func NewTemplate(body []byte) (Template, jsonrpc.Response, bool) {
	r, err := jsonrpc.ScanResponse(body)
	if err != nil || r.ID == nil {
		return Template{}, r, false
	}
	off := len(body) - len(bytes.TrimLeft(body, " \t\r\n"))
	start, end := off+r.IDStart, off+r.IDEnd
	b := make([]byte, 0, len(body)-(end-start))
	b = append(b, body[:start]...)
	b = append(b, body[end:]...)
	return Template{Body: b, IDAt: start}, r, true
}

// Append appends the answer for a client whose id is id (raw JSON).
func (t Template) Append(dst, id []byte) []byte {
	dst = append(dst, t.Body[:t.IDAt]...)
	dst = append(dst, id...)
	return append(dst, t.Body[t.IDAt:]...)
}

// Size is the template's weight in the memory tier.
func (t Template) Size() int { return len(t.Body) + 8 }

// encode is the Redis form: the id position (4 bytes, big endian), then
// the body.
func (t Template) encode() []byte {
	b := make([]byte, 4, 4+len(t.Body))
	binary.BigEndian.PutUint32(b, uint32(t.IDAt))
	return append(b, t.Body...)
}

func decodeTemplate(b []byte) (Template, bool) {
	if len(b) < 4 {
		return Template{}, false
	}
	at := int(binary.BigEndian.Uint32(b))
	if at > len(b)-4 {
		return Template{}, false
	}
	return Template{Body: b[4:], IDAt: at}, true
}
