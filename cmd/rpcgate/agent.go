package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rpcgate/rpcgate/internal/agent"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

func runAgent(args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o agent.Options
	fs.StringVar(&o.Node, "node", "", "the node's local JSON-RPC URL (facts are read from it)")
	fs.StringVar(&o.Advertise, "advertise", "", "the HTTP URL relayers use to reach the node (default: --node)")
	fs.StringVar(&o.AdvertiseWS, "advertise-ws", "", "the WebSocket URL relayers use to reach the node (optional)")
	fs.StringVar(&o.Chain, "chain", "", "the chain name in the gateway's config")
	fs.StringVar(&o.Name, "name", "", "the node's name")
	fs.StringVar(&o.Orchestrator, "orchestrator", "", "the orchestrator, ws://host:port or wss://host:port")
	fs.StringVar(&o.Secret, "secret", os.Getenv("RPCGATE_JOIN_SECRET"), "a per-node join token or the chain's join secret (default: $RPCGATE_JOIN_SECRET)")
	fs.StringVar(&o.CAFile, "ca", "", "PEM bundle to trust for a wss:// orchestrator (on top of the system roots)")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 0, "how long to wait for the drain on SIGTERM (default 30s)")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, logs, err := telemetry.NewLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "rpcgate agent:", err)
		return 2
	}
	defer logs.Close()
	o.Log = log
	a, err := agent.New(o)
	if err != nil {
		fmt.Fprintln(stderr, "rpcgate agent:", err)
		return 2
	}
	// SIGTERM/SIGINT: leave (drain first), then exit.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("rpcgate agent starting", "agent", a.String())
	if err := a.Run(ctx); err != nil {
		log.Error("agent stopped", "err", err)
		return 1
	}
	return 0
}
