package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/rpcgate/rpcgate/internal/config"
)

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "rpcgate validate: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if ps, ok := config.AsProblems(err); ok {
			fmt.Fprintf(stderr, "%s: %d problem(s)\n", *file, len(ps))
		}
		return 1
	}
	nodes := 0
	for _, c := range cfg.Chains {
		nodes += len(c.Nodes)
	}
	fmt.Fprintf(stdout, "%s: ok (%d chain(s), %d node(s))\n", *file, len(cfg.Chains), nodes)
	return 0
}
