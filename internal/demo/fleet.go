// Package demo runs the simulated fleet behind `rpcgate demo`: an in-process
// chain that makes a block every second, served by three simulated Ethereum
// nodes on loopback HTTP, each with its own behaviour (steady, laggy,
// flaky), so the gateway has something real to route around with nothing
// installed beyond Go.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"text/template"
	"time"
)

// ChainName is the name of the demo chain in Config: the gateway serves it at
// /eth (and at /, being the only chain).
const ChainName = "eth"

// Options tune the fleet. The zero value is the interactive demo; tests set
// short durations and a Seed.
type Options struct {
	// ChainID is what eth_chainId and net_version answer. Default: 1337.
	ChainID uint64
	// BlockTime is the time between blocks. Default: 1s.
	BlockTime time.Duration
	// Seed fixes every random choice of the nodes (latencies, lag cycles,
	// which requests fail and how). Zero picks a seed from the clock.
	Seed int64
	// Logger receives the events (Info) and server errors (Debug).
	// Default: discard.
	Logger *slog.Logger

	// LagEvery is how long the laggy node follows the head before it
	// stops; each cycle waits a random time in [LagEvery, 1.5×LagEvery].
	// Default: 20s.
	LagEvery time.Duration
	// LagFor is how long the laggy node stays stopped, randomised to
	// [0.8×LagFor, 1.2×LagFor]; it then syncs back at three blocks per
	// block time. Default: 10s.
	LagFor time.Duration

	// FailRate is the share of HTTP requests the flaky node fails, each in
	// one of four ways chosen at random. Default: 0.1; negative: never.
	FailRate float64
	// SlowDelay is the least delay of a slow answer from the flaky node; it
	// waits a random time in [SlowDelay, 1.5×SlowDelay]. Default: 2s.
	SlowDelay time.Duration
	// FaultEventEvery rate-limits the flaky node's events to at most one
	// per interval. Default: 5s.
	FaultEventEvery time.Duration
}

func (o *Options) setDefaults() {
	if o.ChainID == 0 {
		o.ChainID = 1337
	}
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LagEvery <= 0 {
		o.LagEvery = 20 * time.Second
	}
	if o.LagFor <= 0 {
		o.LagFor = 10 * time.Second
	}
	switch {
	case o.FailRate == 0:
		o.FailRate = 0.1
	case o.FailRate < 0:
		o.FailRate = 0
	case o.FailRate > 1:
		o.FailRate = 1
	}
	if o.SlowDelay <= 0 {
		o.SlowDelay = 2 * time.Second
	}
	if o.FaultEventEvery <= 0 {
		o.FaultEventEvery = 5 * time.Second
	}
}

// NodeInfo describes one simulated node.
type NodeInfo struct {
	Name      string // steady, laggy or flaky; also the node's name in Config
	URL       string // http://127.0.0.1:<port>
	Behaviour string // one line for humans
}

// Fleet is a running simulated chain and its nodes. Close stops it.
type Fleet struct {
	opts    Options
	chain   *chain
	nodes   []*node
	infos   []NodeInfo
	servers []*http.Server
	events  *events

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Start starts the chain and the nodes steady, laggy and flaky, each on its
// own ephemeral port of 127.0.0.1. The fleet stops when ctx is done or Close
// is called; Close must be called either way to release it.
func Start(ctx context.Context, opts Options) (*Fleet, error) {
	opts.setDefaults()
	t := tuning{
		lagEvery:  opts.LagEvery,
		lagFor:    opts.LagFor,
		failRate:  opts.FailRate,
		slowDelay: opts.SlowDelay,
		faultMute: opts.FaultEventEvery,
	}
	f := &Fleet{
		opts:   opts,
		chain:  newChain(opts.ChainID, opts.BlockTime, time.Now()),
		events: newEvents(opts.Logger),
	}

	var listeners []net.Listener
	for i, kind := range []behaviour{steady, laggy, flaky} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return nil, fmt.Errorf("demo: listen for node %s: %w", kind, err)
		}
		listeners = append(listeners, ln)
		seed := uint64(opts.Seed) + uint64(i+1)*0x9e3779b97f4a7c15
		n := newNode(kind.String(), kind, f.chain, t, f.events, seed)
		f.nodes = append(f.nodes, n)
		f.infos = append(f.infos, NodeInfo{
			Name:      n.name,
			URL:       "http://" + ln.Addr().String(),
			Behaviour: kind.describe(t),
		})
	}

	ctx, f.cancel = context.WithCancel(ctx)
	errLog := slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	for i, n := range f.nodes {
		srv := &http.Server{
			Handler:           n,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
			ErrorLog:          errLog,
		}
		f.servers = append(f.servers, srv)
		f.wg.Go(func() {
			if err := srv.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				opts.Logger.Error("demo node stopped", "node", n.name, "err", err)
			}
		})
		if n.kind == laggy {
			f.wg.Go(func() { n.runLaggy(ctx) })
		}
	}
	f.wg.Go(func() { f.chain.run(ctx) })
	f.wg.Go(func() {
		<-ctx.Done()
		for _, srv := range f.servers {
			srv.Close() // also cancels in-flight requests, slow ones included
		}
	})
	return f, nil
}

// Nodes describes the nodes in the order steady, laggy, flaky.
func (f *Fleet) Nodes() []NodeInfo {
	return append([]NodeInfo(nil), f.infos...)
}

// Head is the chain's newest block (a lagging node may be behind it).
func (f *Fleet) Head() uint64 { return f.chain.Head() }

// Events delivers one line whenever a node changes what it is doing
// ("laggy: caught up at block 1234", "flaky: dropped a connection"). Lines
// are dropped when 64 are unread. The channel is closed by Close.
func (f *Fleet) Events() <-chan string { return f.events.ch }

// Close stops the chain, the nodes and every goroutine, waits for them, and
// closes the Events channel. It is safe to call more than once.
func (f *Fleet) Close() error {
	f.closeOnce.Do(func() {
		f.cancel()
		f.wg.Wait()
		f.events.close()
	})
	return nil
}

//go:embed demo.yaml.tmpl
var configText string

// configTemplate renders Config; parsed once, it cannot fail at run time
// for the data Config gives it.
var configTemplate = template.Must(template.New("demo.yaml").Funcs(template.FuncMap{
	"quote": func(s string) string { b, _ := json.Marshal(s); return string(b) }, // JSON strings are YAML strings
	"join":  strings.Join,
}).Parse(configText))

// Config returns an rpcgate YAML config that serves the fleet on listen
// (default 127.0.0.1:8545): chain eth with all three nodes in the default
// group and eth_getLogs in a group of its own that falls back to default.
// It has no admin listener.
func (f *Fleet) Config(listen, admin string) []byte {
	if listen == "" {
		listen = "127.0.0.1:8545"
	}
	data := struct {
		Listen       string
		Admin        string
		Chain        string
		ChainID      uint64
		BlockTime    time.Duration
		PollInterval time.Duration
		Nodes        []NodeInfo
		Names        []string
		LogsNode     string
	}{
		Listen:       listen,
		Admin:        admin,
		Chain:        ChainName,
		ChainID:      f.opts.ChainID,
		BlockTime:    f.opts.BlockTime,
		PollInterval: min(500*time.Millisecond, max(f.opts.BlockTime/2, 10*time.Millisecond)),
		Nodes:        f.infos,
		LogsNode:     laggy.String(),
	}
	for _, n := range f.infos {
		data.Names = append(data.Names, n.Name)
	}
	var buf bytes.Buffer
	if err := configTemplate.Execute(&buf, data); err != nil {
		panic("demo: config template: " + err.Error()) // a bug in demo.yaml.tmpl
	}
	return buf.Bytes()
}
