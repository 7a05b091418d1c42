package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/demo"
	"github.com/rpcgate/rpcgate/internal/gateway"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8545", "public listener for the demo gateway")
	admin := fs.String("admin", "127.0.0.1:8546", "admin listener (/metrics); empty disables it")
	every := fs.Duration("status-every", 5*time.Second, "how often to print the fleet's state")
	rate := fs.Int("load", 20, "requests per second the built-in client sends through the gateway (0: none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, logs, _ := telemetry.NewLogger(stderr, "text", "warn")
	defer logs.Close()
	// The fleet outlives the gateway: it is closed (and joined) only after
	// the gateway has shut down, so calls in flight can still finish.
	fl, err := demo.Start(context.Background(), demo.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "rpcgate demo: cannot start the simulated fleet:", err)
		return 1
	}
	defer fl.Close()
	cfg, err := config.Parse("demo.yaml (embedded)", fl.Config(*listen, *admin), func(string) (string, bool) { return "", false })
	if err != nil {
		fmt.Fprintln(stderr, "rpcgate demo: embedded config is invalid:", err)
		return 1
	}
	// A loopback admin listener may go without a token, but then any web
	// page the demo's user opens could try it: the demo makes one.
	cfg.Admin.Token = tenant.NewSecret()
	return serve(cfg, log, func(gw *gateway.Gateway) (stop func()) {
		ep := "http://" + gw.Addr() + "/eth"
		fmt.Fprintf(stdout, "rpcgate demo: a simulated chain (id %d) behind 3 simulated nodes\n\n", cfg.Chains["eth"].ChainID)
		fmt.Fprintf(stdout, "  endpoint  %s\n", ep)
		fmt.Fprintf(stdout, "  status    http://%s/status\n", gw.Addr())
		if gw.AdminAddr() != "" {
			fmt.Fprintf(stdout, "  metrics   http://%s/metrics\n", gw.AdminAddr())
			fmt.Fprintf(stdout, "  admin     curl -s -H 'Authorization: Bearer %s' http://%s/admin/nodes\n", cfg.Admin.Token, gw.AdminAddr())
		}
		fmt.Fprintf(stdout, "  try       curl -s %s -H 'Content-Type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\",\"params\":[]}'\n\n", ep)
		for _, n := range fl.Nodes() {
			fmt.Fprintf(stdout, "  node %-7s %s\n", n.Name, n.Behaviour)
		}
		client := &demo.Client{URL: ep, Rate: *rate}
		if *rate > 0 {
			fmt.Fprintf(stdout, "\nA built-in client sends %d mixed requests/s through the gateway (--load 0 turns it off).\n", *rate)
		}
		fmt.Fprintln(stdout, "Ctrl-C stops. What the nodes do, and what the gateway sees:")
		// The client, the event printer and the status ticker stop before
		// the gateway shuts down: serve calls stop, which cancels them and
		// waits until each has returned.
		ctx, cancel := context.WithCancel(context.Background())
		var bg sync.WaitGroup
		bg.Go(func() { client.Run(ctx) })
		bg.Go(func() { printEvents(ctx, stdout, fl.Events()) })
		bg.Go(func() { printStatus(ctx, stdout, *every, gw, client, *rate > 0) })
		return func() {
			cancel()
			bg.Wait()
		}
	})
}

// printEvents prints the fleet's event lines until ctx ends or the fleet
// closes the channel.
func printEvents(ctx context.Context, stdout io.Writer, events <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			fmt.Fprintf(stdout, "%s  %s\n", time.Now().Format("15:04:05"), ev)
		}
	}
}

// printStatus prints the gateway's view of the fleet, and the client's
// counters when it runs, every interval until ctx ends.
func printStatus(ctx context.Context, stdout io.Writer, every time.Duration, gw *gateway.Gateway, client *demo.Client, withClient bool) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Fprintf(stdout, "%s  gateway: %s\n", time.Now().Format("15:04:05"), fleetLine(gw))
			if withClient {
				line := fmt.Sprintf("client: %d answered, %d failed", client.OK.Load(), client.Failed.Load())
				if e := client.LastError.Load(); e != nil {
					line += " (last failure: " + *e + ")"
				}
				fmt.Fprintf(stdout, "%s  %s\n", time.Now().Format("15:04:05"), line)
			}
		}
	}
}

// fleetLine summarises the gateway's view: best head and each node's state.
func fleetLine(gw *gateway.Gateway) string {
	var b strings.Builder
	for _, c := range gw.Chains() {
		fmt.Fprintf(&b, "best head %d;", c.BestHead())
		for _, n := range c.Nodes() {
			fmt.Fprintf(&b, " %s=%s(head %d, lag %d, %d req)", n.Name(), c.StateOf(n), n.Head(), c.Lag(n), n.Requests())
		}
	}
	return b.String()
}
