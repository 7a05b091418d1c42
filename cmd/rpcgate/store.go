package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/store"
)

// runStore is `rpcgate store migrate|backfill|status` (docs/followers.md).
func runStore(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: rpcgate store migrate|backfill|status --config FILE [--chain C] [--from N --to M]")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("store "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "config file (YAML)")
	chain := fs.String("chain", "", "chain name (default: every chain with a store)")
	from := fs.Uint64("from", 0, "backfill: first block")
	to := fs.Uint64("to", 0, "backfill: last block")
	workers := fs.Int("workers", 8, "backfill: concurrent block fetches")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintf(stderr, "rpcgate store %s: --config FILE is required\n", sub)
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var names []string
	for _, n := range slices.Sorted(maps.Keys(cfg.Chains)) {
		if cfg.Chains[n].Store != nil && (*chain == "" || *chain == n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		fmt.Fprintf(stderr, "rpcgate store %s: no chain with a store in %s (add store: {postgres: ...} under chains.<name>)\n", sub, *file)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, name := range names {
		cc := cfg.Chains[name]
		st, err := store.Open(ctx, store.Options{URL: cc.Store.Postgres, Schema: cc.Store.Schema})
		if err != nil {
			fmt.Fprintf(stderr, "chain %s: %v\n", name, err)
			return 1
		}
		code := storeCommand(ctx, sub, name, cc, st, *from, *to, *workers, stdout, stderr)
		st.Close()
		if code != 0 {
			return code
		}
	}
	return 0
}

func storeCommand(ctx context.Context, sub, name string, cc *config.Chain, st *store.Store, from, to uint64, workers int, stdout, stderr io.Writer) int {
	switch sub {
	case "migrate":
		applied, err := st.Migrate(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "chain %s: migrate: %v\n", name, err)
			return 1
		}
		v, _ := st.Version(ctx)
		fmt.Fprintf(stdout, "chain %s: %d migration(s) applied, schema version %d\n", name, len(applied), v)
	case "status":
		s, err := st.Stat(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "chain %s: status: %v\n", name, err)
			return 1
		}
		if s.Empty {
			fmt.Fprintf(stdout, "chain %s: empty (schema version %d)\n", name, s.MigrationsVersion)
			return 0
		}
		fmt.Fprintf(stdout, "chain %s: highest %d, lowest %d, blocks %d, transactions %d, receipts %d, logs %d (schema version %d)\n",
			name, s.Highest, s.Lowest, s.Blocks, s.Txs, s.Receipts, s.Logs, s.MigrationsVersion)
	case "backfill":
		if to < from {
			fmt.Fprintf(stderr, "rpcgate store backfill: --to %d is below --from %d\n", to, from)
			return 2
		}
		url := ""
		for _, n := range slices.Sorted(maps.Keys(cc.Nodes)) {
			if cc.Nodes[n] != nil {
				url = cc.Nodes[n].URL
				break
			}
		}
		if url == "" {
			fmt.Fprintf(stderr, "chain %s: backfill needs a node to read from (chains.%s.nodes)\n", name, name)
			return 1
		}
		start := time.Now()
		b := &store.Backfill{Store: st, Source: &store.Source{URL: url}, From: from, To: to, Workers: workers, Progress: stderr}
		n, err := b.Run(ctx)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "chain %s: backfill interrupted after %d block(s); run it again to resume\n", name, n)
			return 130
		}
		if err != nil {
			fmt.Fprintf(stderr, "chain %s: backfill: %v\n", name, err)
			return 1
		}
		fmt.Fprintf(stdout, "chain %s: backfilled %d block(s) in %s\n", name, n, time.Since(start).Round(time.Millisecond))
	default:
		fmt.Fprintf(stderr, "rpcgate store: unknown subcommand %q (migrate, backfill, status)\n", sub)
		return 2
	}
	return 0
}
