package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Source is where the writer reads the chain from: one node's JSON-RPC
// endpoint. Answers are kept as the node's bytes.
type Source struct {
	URL    string
	Client *http.Client
	id     atomic.Uint64
}

// Answer is one node answer: the whole body and its result.
type Answer struct {
	Body   []byte
	Result []byte
}

// Call sends one call and returns the node's answer; a JSON-RPC error is
// an error.
func (s *Source) Call(ctx context.Context, method string, params ...any) (Answer, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return Answer{}, err
	}
	body := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, s.id.Add(1), method, p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	c := s.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// *url.Error carries the node's URL, which may hold credentials:
		// keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Answer{}, fmt.Errorf("store: source %s: %w", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return Answer{}, err
	}
	r, err := jsonrpc.ScanResponse(b)
	if err != nil {
		return Answer{}, fmt.Errorf("store: source %s: %w", method, err)
	}
	if r.Err != nil {
		return Answer{}, fmt.Errorf("store: source %s: %w", method, r.Err)
	}
	return Answer{Body: b, Result: r.Result}, nil
}

// Finalized is the node's finalized block, or head − depth when the node
// has no "finalized" tag.
func (s *Source) Finalized(ctx context.Context, depth uint64) (uint64, error) {
	if a, err := s.Call(ctx, "eth_getBlockByNumber", "finalized", false); err == nil && string(a.Result) != "null" {
		var b struct{ Number string }
		if json.Unmarshal(a.Result, &b) == nil {
			if n, err := parseQuantity(b.Number); err == nil {
				return n, nil
			}
		}
	}
	a, err := s.Call(ctx, "eth_blockNumber")
	if err != nil {
		return 0, err
	}
	var h string
	if err := json.Unmarshal(a.Result, &h); err != nil {
		return 0, err
	}
	head, err := parseQuantity(h)
	if err != nil {
		return 0, err
	}
	if head < depth {
		return 0, errNothingFinal
	}
	return head - depth, nil
}

// defaultClient bounds a node call that hangs; callers' contexts end
// sooner on shutdown.
var defaultClient = &http.Client{Timeout: 60 * time.Second}

var errNothingFinal = fmt.Errorf("store: no block is final yet")

func parseQuantity(s string) (uint64, error) {
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return 0, fmt.Errorf("store: %q is not a hex quantity", s)
	}
	return strconv.ParseUint(s[2:], 16, 64)
}

func quantity(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }
