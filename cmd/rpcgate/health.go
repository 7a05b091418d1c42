package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rpcgate/rpcgate/internal/healthcheck"
)

// runHealth is the container healthcheck: exit 0 when the gateway at --url
// answers 200, 1 otherwise (2 for bad flags), so an image without a shell
// or curl can still be checked by Docker, Podman or Nomad.
func runHealth(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	u := fs.String("url", "http://127.0.0.1:8545/readyz", "URL to GET; ready when it answers 200")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *timeout <= 0 {
		fmt.Fprintln(stderr, "rpcgate health: usage: health [--url URL] [--timeout DURATION]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := healthcheck.Check(ctx, &http.Client{}, *u); err != nil {
		fmt.Fprintln(stderr, "rpcgate", err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}
