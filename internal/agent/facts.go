package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/rpcgate/rpcgate/internal/joinproto"
)

// nodeClient reads facts from the node's local JSON-RPC.
type nodeClient struct {
	url    string
	client *http.Client
}

// facts reads chain id, genesis hash, client version, head, peers and
// syncing. Chain id and head are required; the rest is best effort (not
// every node serves net_peerCount or web3_clientVersion).
func (n *nodeClient) facts(ctx context.Context) (joinproto.Facts, error) {
	var f joinproto.Facts
	var err error
	if f.ChainID, err = n.quantity(ctx, "eth_chainId"); err != nil {
		return f, err
	}
	if f.Head, err = n.quantity(ctx, "eth_blockNumber"); err != nil {
		return f, err
	}
	var b struct {
		Hash string `json:"hash"`
	}
	if n.call(ctx, "eth_getBlockByNumber", &b, "0x0", false) == nil {
		f.Genesis = b.Hash
	}
	_ = n.call(ctx, "web3_clientVersion", &f.Client)
	if len(f.Client) > 256 {
		f.Client = f.Client[:256]
	}
	f.Peers, _ = n.quantity(ctx, "net_peerCount")
	var syncing json.RawMessage
	if n.call(ctx, "eth_syncing", &syncing) == nil {
		f.Syncing = strings.TrimSpace(string(syncing)) != "false"
	}
	return f, nil
}

func (n *nodeClient) quantity(ctx context.Context, method string) (uint64, error) {
	var s string
	if err := n.call(ctx, method, &s); err != nil {
		return 0, err
	}
	if !strings.HasPrefix(s, "0x") {
		return 0, fmt.Errorf("%s: %q is not a quantity", method, s)
	}
	return strconv.ParseUint(s[2:], 16, 64)
}

func (n *nodeClient) call(ctx context.Context, method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("node not answering %s", method)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", method, resp.StatusCode)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("%s: answer is not JSON-RPC", method)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: error %d", method, r.Error.Code)
	}
	if len(r.Result) == 0 {
		return errors.New(method + ": no result")
	}
	return json.Unmarshal(r.Result, out)
}
