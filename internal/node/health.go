package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/nodespec"
)

var (
	probeChainID     = []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`)
	probeBlockNumber = []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`)
)

// errWrongChain marks an admission failure that must not be retried fast.
var errWrongChain = errors.New("wrong chain")

// Run is the node's checker: it admits the node (eth_chainId must match),
// polls its head, and re-probes under exponential backoff while the node is
// ejected. It returns when ctx is done. At most one probe runs at a time.
func (n *Node) Run(ctx context.Context) {
	backoff := n.opts.BackoffMin
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n.stats.decay(time.Now())
		n.refreshAttemptTimeout()
		var wait time.Duration
		switch n.State() {
		case StateOK, StateDraining:
			if err := n.pollHead(ctx); err != nil && ctx.Err() == nil {
				n.errors.Add(1)
				n.recordFailure(err)
			} else if err == nil {
				n.recordSuccess()
			}
			wait = n.opts.PollInterval
		default: // unknown, ejected, wrong-chain: (re)admission
			err := n.admit(ctx)
			n.checked.Store(true)
			if err == nil {
				backoff = n.opts.BackoffMin
				wait = n.opts.PollInterval
				break
			}
			if ctx.Err() != nil {
				return
			}
			wait = backoff
			backoff = min(backoff*2, n.opts.BackoffMax)
			if errors.Is(err, errWrongChain) {
				wait = n.opts.BackoffMax
			}
		}
		timer.Reset(max(wait, 10*time.Millisecond))
	}
}

// admit verifies the node's chain id and head and marks it OK.
func (n *Node) admit(ctx context.Context) error {
	id, err := n.probeQuantity(ctx, probeChainID)
	if err != nil {
		if n.State() == StateUnknown {
			n.log.Warn("node not reachable yet", "reason", err.Error(), "cause", causeText(err))
		}
		return err
	}
	if id != n.opts.ChainID {
		if n.State() != StateWrongChain {
			n.log.Error("node is on the wrong chain and will not be used",
				"reported_chain_id", id, "want_chain_id", n.opts.ChainID)
		}
		n.setState(StateWrongChain)
		return errWrongChain
	}
	start := time.Now()
	head, err := n.probeQuantity(ctx, probeBlockNumber)
	if err != nil {
		return err
	}
	// Start the latency average from a real measurement, not a guess that
	// would make a new node look faster or slower than its peers.
	n.ewmaNs.Store(math.Float64bits(float64(time.Since(start))))
	n.setHead(head)
	n.fails.Store(0)
	n.live.stalls.Store(0)
	prev := n.State()
	n.setState(StateOK)
	n.log.Info("node admitted", "head", head, "was", prev.String())
	return nil
}

func (n *Node) pollHead(ctx context.Context) error {
	start := time.Now()
	head, err := n.probeQuantity(ctx, probeBlockNumber)
	if err != nil {
		return err
	}
	n.observeLatency(time.Since(start))
	n.setHead(head)
	return nil
}

// probeQuantity sends a probe and reads a hex quantity result.
func (n *Node) probeQuantity(ctx context.Context, body []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.ProbeTimeout)
	defer cancel()
	resp, err := n.roundTrip(ctx, body)
	if err != nil {
		return 0, err
	}
	defer resp.Release()
	r, err := jsonrpc.ScanResponse(resp.Body)
	if err != nil {
		return 0, &Error{Node: n.name, Kind: KindBadResponse, Sent: true, Cause: err}
	}
	if r.Err != nil {
		return 0, &Error{Node: n.name, Kind: KindBadResponse, Sent: true, Cause: r.Err}
	}
	v, ok := evm.ParseQuantity(r.Result)
	if !ok {
		return 0, &Error{Node: n.name, Kind: KindBadResponse, Sent: true,
			Cause: fmt.Errorf("result %.40q is not a quantity", r.Result)}
	}
	return v, nil
}

// ObserveHead raises the node's head from an answer it gave to client
// traffic (eth_blockNumber), so the fleet learns of new blocks before the
// next poll. It never lowers the head: only probes do that.
func (n *Node) ObserveHead(h uint64) {
	for {
		cur := n.head.Load()
		if h <= cur {
			return
		}
		if n.head.CompareAndSwap(cur, h) {
			n.opts.Observer.HeadChanged(n, h)
			return
		}
	}
}

// ReportBadResponse counts an answer that is not JSON-RPC as a failure of
// the node and returns the typed error for it.
func (n *Node) ReportBadResponse(cause error) error {
	err := &Error{Node: n.name, Kind: KindBadResponse, Sent: true, Cause: cause}
	n.errors.Add(1)
	n.recordFailure(err)
	return err
}

// Verify checks a would-be node before it joins a chain, as the checker
// would: it must answer eth_chainId with chainID and report a head. It
// returns the head. The probe uses a short-lived connection pool.
func Verify(ctx context.Context, spec nodespec.Spec, chainID uint64, timeout time.Duration) (uint64, error) {
	name := spec.Name
	n, err := New(spec, Options{ChainID: chainID, ProbeTimeout: timeout, MaxResponseBytes: 1 << 20})
	if err != nil {
		return 0, err
	}
	defer n.up.client.CloseIdleConnections()
	id, err := n.probeQuantity(ctx, probeChainID)
	if err != nil {
		return 0, err
	}
	if id != chainID {
		return 0, &WrongChainError{Node: name, Got: id, Want: chainID}
	}
	return n.probeQuantity(ctx, probeBlockNumber)
}

// WrongChainError is a node reporting another chain's id.
type WrongChainError struct {
	Node      string
	Got, Want uint64
}

func (e *WrongChainError) Error() string {
	return fmt.Sprintf("node %s reports chain id %d, want %d", e.Node, e.Got, e.Want)
}
