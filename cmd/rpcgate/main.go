// Command rpcgate is a JSON-RPC gateway in front of a fleet of blockchain
// nodes. This package is wiring only: each subcommand lives in its own file.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/rpcgate/rpcgate/internal/buildinfo"
)

// version is what the gateway reports (build info metric, status page); it
// is stamped at link time into internal/buildinfo (see the Dockerfile).
var version = buildinfo.Version

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"serve", "run the gateway: serve --config FILE", runServe},
	{"validate", "check a config file and print every problem: validate --config FILE", runValidate},
	{"agent", "run beside a node and join it to an orchestrator: agent --node URL --chain C --name N --orchestrator ws://HOST:PORT --secret S", runAgent},
	{"demo", "run the gateway in front of an embedded simulated fleet", runDemo},
	{"health", "exit 0 when the gateway is ready: health --url http://127.0.0.1:8545/readyz", runHealth},
	{"snapshot", "publish and fetch chain-data snapshots: snapshot keygen|create|fetch|prune", runSnapshot},
	{"summaries", "report relays per node and method: summaries --file F | --nats URL --stream S | --kafka B --topic T [--json]", runSummaries},
	{"store", "chain store for stateless followers: store migrate|backfill|status --config FILE", runStore},
	{"version", "print the version, commit and build date", runVersion},
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "rpcgate: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rpcgate <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
}

func runVersion(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, buildinfo.Get())
	return 0
}
