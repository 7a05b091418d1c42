package orchestrator

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
	"strings"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Names of the verification checks, as refusals and the admin API give them.
const (
	CheckToken     = "token"     // no valid per-node token or chain secret
	CheckChain     = "chain"     // the chain is not configured
	CheckName      = "name"      // the name belongs to a config or admin node
	CheckTarget    = "target"    // the URL may not be dialled (gateway guards)
	CheckReachable = "reachable" // the node did not answer
	CheckChainID   = "chain_id"  // eth_chainId differs from the chain's
	CheckGenesis   = "genesis"   // block 0's hash differs from the chain's genesis
	CheckSyncing   = "syncing"   // eth_syncing is not false
	CheckMaxLag    = "max_lag"   // the head is more than max_lag behind the fleet's
	CheckFork      = "fork"      // the block 16 below the head differs from the fleet's
)

// forkDepth is how far below the head the fleet's block is compared.
const forkDepth = 16

// Refusal is why a node was not admitted (or was retired): the check that
// failed and what was seen.
type Refusal struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
}

func (r *Refusal) Error() string { return r.Check + ": " + r.Reason }

func refuse(check, format string, args ...any) *Refusal {
	return &Refusal{Check: check, Reason: fmt.Sprintf(format, args...)}
}

// verifier dials joining nodes itself: it never trusts what an agent says.
type verifier struct {
	client  *http.Client
	mu      sync.Mutex
	genesis map[string]string // chain → block 0 hash, configured or learned
}

func newVerifier(timeout time.Duration, configured map[string]string) *verifier {
	g := map[string]string{}
	for c, h := range configured {
		if h != "" {
			g[c] = strings.ToLower(h)
		}
	}
	return &verifier{client: &http.Client{Timeout: timeout}, genesis: g}
}

// verify runs every check on the node at spec against the chain. The
// first failure is returned as a *Refusal.
func (v *verifier) verify(ctx context.Context, chain string, info ChainInfo, spec nodespec.Spec) *Refusal {
	id, err := v.quantity(ctx, spec, "eth_chainId")
	if err != nil {
		return refuse(CheckReachable, "eth_chainId: %v", err)
	}
	if id != info.ChainID {
		return refuse(CheckChainID, "node reports chain id %d, chain %s is %d", id, chain, info.ChainID)
	}
	want, err := v.genesisOf(ctx, chain, info)
	if err != nil {
		return refuse(CheckGenesis, "%v", err)
	}
	got, err := v.blockHash(ctx, spec, 0)
	if err != nil {
		return refuse(CheckReachable, "block 0: %v", err)
	}
	if got != want {
		return refuse(CheckGenesis, "block 0 is %s, chain %s's genesis is %s", got, chain, want)
	}
	var syncing json.RawMessage
	if err := v.call(ctx, spec, "eth_syncing", &syncing); err != nil {
		return refuse(CheckReachable, "eth_syncing: %v", err)
	}
	if s := strings.TrimSpace(string(syncing)); s != "false" {
		return refuse(CheckSyncing, "eth_syncing is not false")
	}
	head, err := v.quantity(ctx, spec, "eth_blockNumber")
	if err != nil {
		return refuse(CheckReachable, "eth_blockNumber: %v", err)
	}
	ref, refHead, err := v.reference(ctx, info)
	if err != nil {
		return refuse(CheckFork, "%v", err)
	}
	best := max(info.BestHead, refHead)
	if head+info.MaxLag < best {
		return refuse(CheckMaxLag, "head %d is %d blocks behind the chain's %d (max_lag %d)", head, best-head, best, info.MaxLag)
	}
	at := min(head, refHead)
	if at < forkDepth {
		return nil // block 0 was compared already
	}
	at -= forkDepth
	mine, err := v.blockHash(ctx, spec, at)
	if err != nil {
		return refuse(CheckReachable, "block %d: %v", at, err)
	}
	theirs, err := v.blockHash(ctx, ref, at)
	if err != nil {
		return refuse(CheckFork, "the fleet's block %d: %v", at, err)
	}
	if mine != theirs {
		return refuse(CheckFork, "block %d (head-%d) is %s, the fleet's is %s", at, forkDepth, mine, theirs)
	}
	return nil
}

// genesisOf is the chain's block 0 hash: configured, or learned once from
// a serving node.
func (v *verifier) genesisOf(ctx context.Context, chain string, info ChainInfo) (string, error) {
	v.mu.Lock()
	h, ok := v.genesis[chain]
	v.mu.Unlock()
	if ok {
		return h, nil
	}
	for _, ref := range info.References {
		if h, err := v.blockHash(ctx, ref, 0); err == nil {
			v.mu.Lock()
			v.genesis[chain] = h
			v.mu.Unlock()
			return h, nil
		}
	}
	return "", fmt.Errorf("chain %s has no genesis configured (orchestrator.chains.%s.genesis) and no serving node to learn it from", chain, chain)
}

// reference is the first serving node that answers, with its head.
func (v *verifier) reference(ctx context.Context, info ChainInfo) (nodespec.Spec, uint64, error) {
	for _, ref := range info.References {
		if h, err := v.quantity(ctx, ref, "eth_blockNumber"); err == nil {
			return ref, h, nil
		}
	}
	return nodespec.Spec{}, 0, errors.New("no serving node of the chain answers, so there is nothing to compare with")
}

func (v *verifier) quantity(ctx context.Context, spec nodespec.Spec, method string) (uint64, error) {
	var s string
	if err := v.call(ctx, spec, method, &s); err != nil {
		return 0, err
	}
	return parseQuantity(s)
}

func (v *verifier) blockHash(ctx context.Context, spec nodespec.Spec, n uint64) (string, error) {
	var b *struct {
		Hash string `json:"hash"`
	}
	if err := v.call(ctx, spec, "eth_getBlockByNumber", &b, "0x"+strconv.FormatUint(n, 16), false); err != nil {
		return "", err
	}
	if b == nil || b.Hash == "" {
		return "", fmt.Errorf("block %d not found", n)
	}
	return strings.ToLower(b.Hash), nil
}

// call makes one JSON-RPC call to the node and decodes its result into out.
// Errors never carry the URL (it may hold credentials).
func (v *verifier) call(ctx context.Context, spec nodespec.Spec, method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad url")
	}
	req.Header.Set("Content-Type", "application/json")
	for k, val := range spec.Headers {
		req.Header.Set(k, val)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its Err names the address, never the URL's credentials
			return fmt.Errorf("not answering (%v)", ue.Err)
		}
		return errors.New("not answering")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return errors.New("answer cut short")
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return errors.New("answer is not JSON-RPC")
	}
	if r.Error != nil {
		return fmt.Errorf("%s: error %d", method, r.Error.Code)
	}
	if len(r.Result) == 0 {
		return fmt.Errorf("%s: no result", method)
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("%s: unexpected result", method)
	}
	return nil
}

func parseQuantity(s string) (uint64, error) {
	if !strings.HasPrefix(s, "0x") || len(s) < 3 || len(s) > 18 {
		return 0, fmt.Errorf("%q is not a quantity", s)
	}
	return strconv.ParseUint(s[2:], 16, 64)
}
