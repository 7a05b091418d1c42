package execute

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// benchChain is a chain of one loopback node served by fasthttp (which
// allocates nothing per request, so allocations counted are the
// gateway's).
func benchChain(b *testing.B) *fleet.Chain {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if bytes.Contains(ctx.PostBody(), []byte("eth_chainId")) {
			ctx.SetBodyString(`{"jsonrpc":"2.0","id":1,"result":"0x539"}`)
			return
		}
		if bytes.Contains(ctx.PostBody(), []byte("eth_blockNumber")) {
			ctx.SetBodyString(`{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
			return
		}
		ctx.SetBodyString(`{"jsonrpc":"2.0","id":1,"result":"0x0000000000000000000000000000000000000000000000000000000000000001"}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
chains:
  eth:
    chain_id: 1337
    nodes: {a: {url: "http://%s"}}
    groups: {default: {nodes: [a]}}
`, ln.Addr())), nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), slog.New(slog.DiscardHandler), telemetry.NewMetrics("bench"))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	b.Cleanup(func() { cancel(); c.Stop() })
	for !c.Selectable(c.Node("a")) {
		time.Sleep(time.Millisecond) // the checker admits the node at once
	}
	return c
}

// BenchmarkSingle is one read through the engine to a loopback node (the
// happy path: one attempt, recorded).
func BenchmarkSingle(b *testing.B) {
	c := benchChain(b)
	e := New(nil)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getStorageAt","params":["0x0000000000000000000000000000000000000001","0x0","latest"]}`)
	reqs, _, derr := jsonrpc.Decode(body, 0)
	if derr != nil {
		b.Fatal(derr)
	}
	g := c.Group(reqs[0].Method)
	b.ReportAllocs()
	for b.Loop() {
		rec := relay.Get()
		ans := e.Single(context.Background(), c, g, 0, &reqs[0], body, rec)
		if ans.Err != nil {
			b.Fatal(ans.Err)
		}
		ans.Release()
		relay.Put(rec)
	}
}
