package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/rpcgate/rpcgate/internal/snapshot"
)

// runSnapshot is `rpcgate snapshot keygen|create|fetch|prune`. Each
// prints one JSON summary line on stdout; progress goes to stderr when it
// is a terminal.
func runSnapshot(args []string, stdout, stderr io.Writer) int {
	subs := map[string]func([]string, io.Writer, io.Writer) int{
		"keygen": snapshotKeygen, "create": snapshotCreate, "fetch": snapshotFetch, "prune": snapshotPrune,
	}
	if len(args) == 0 || subs[args[0]] == nil {
		fmt.Fprintln(stderr, "usage: rpcgate snapshot keygen|create|fetch|prune [flags] (see docs/snapshots.md)")
		return 2
	}
	return subs[args[0]](args[1:], stdout, stderr)
}

func snapshotContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func snapshotFail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "rpcgate snapshot:", err)
	return 1
}

func printJSON(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(w, string(b))
}

func snapshotKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snapshot keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "private key file to write (the public key goes to FILE.pub)")
	if fs.Parse(args) != nil || *out == "" {
		fmt.Fprintln(stderr, "usage: rpcgate snapshot keygen --out KEYFILE")
		return 2
	}
	pub, err := snapshot.GenerateKey(*out)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	printJSON(stdout, map[string]any{"private": *out, "public": *out + ".pub", "public_key": fmt.Sprintf("%x", []byte(pub))})
	return 0
}

func snapshotCreate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snapshot create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the stopped node's data directory")
	out := fs.String("out", "", "destination: a directory or s3://bucket/prefix")
	key := fs.String("key", "", "private key file (rpcgate snapshot keygen)")
	chain := fs.String("chain", "", "chain name, e.g. eth")
	chainID := fs.Uint64("chain-id", 0, "chain id")
	block := fs.Uint64("block", 0, "head block number at the snapshot")
	blockHash := fs.String("block-hash", "", "head block hash at the snapshot")
	client := fs.String("client", "", "node client and version, e.g. \"geth 1.14.8\"")
	chunk := fs.String("chunk-size", "64MiB", "chunk size before compression (bytes, or with KiB/MiB/GiB)")
	parallel := fs.Int("parallel", 0, "chunks compressed and uploaded at once (default: twice the CPUs)")
	var exclude []string
	fs.Func("exclude", "skip paths (relative to --data) matching this pattern, e.g. nodekey or keystore; repeatable", func(s string) error {
		exclude = append(exclude, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *data == "" || *out == "" || *key == "" || *chain == "" {
		fmt.Fprintln(stderr, "usage: rpcgate snapshot create --data DIR --out DEST --key KEYFILE --chain NAME --chain-id N [--block N --block-hash H]")
		return 2
	}
	size, err := parseSize(*chunk)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	priv, err := snapshot.LoadPrivateKey(*key)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	store, err := snapshot.OpenStore(*out)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	ctx, cancel := snapshotContext()
	defer cancel()
	res, err := snapshot.Create(ctx, snapshot.CreateOptions{Data: *data, Store: store, Key: priv, Chain: *chain, ChainID: *chainID,
		Block: *block, BlockHash: *blockHash, Client: *client, ChunkSize: size, Parallel: *parallel, Exclude: exclude,
		Progress: snapshot.NewProgress(stderr, "create")})
	if err != nil {
		return snapshotFail(stderr, err)
	}
	printJSON(stdout, map[string]any{"manifest": res.Name, "chunks": len(res.Manifest.Chunks), "uploaded": res.Uploaded,
		"reused": res.Reused, "uploaded_bytes": res.UploadedBytes, "bytes": res.Manifest.Bytes()})
	return 0
}

func snapshotFetch(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snapshot fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source: a directory, http(s)://… (e.g. a gateway's /snapshots/) or s3://bucket/prefix")
	data := fs.String("data", "", "data directory to fill")
	pubkey := fs.String("pubkey", "", "the publisher's public key file (KEYFILE.pub)")
	chain := fs.String("chain", "", "fetch this chain's latest snapshot (default: the source's latest of any chain)")
	manifest := fs.String("manifest", "", "fetch this manifest (a store name, manifests/<chain>/….json)")
	force := fs.Bool("force", false, "replace a non-empty data directory")
	verifyOnly := fs.Bool("verify-only", false, "check the data directory against the manifest; change nothing")
	parallel := fs.Int("parallel", 4, "chunks downloaded at once")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from == "" || *data == "" || *pubkey == "" {
		fmt.Fprintln(stderr, "usage: rpcgate snapshot fetch --from SRC --data DIR --pubkey KEYFILE.pub [--force] [--verify-only]")
		return 2
	}
	pub, err := snapshot.LoadPublicKey(*pubkey)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	store, err := snapshot.OpenStore(*from)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	ctx, cancel := snapshotContext()
	defer cancel()
	res, err := snapshot.Fetch(ctx, snapshot.FetchOptions{Store: store, Data: *data, Pub: pub, Chain: *chain, Manifest: *manifest,
		Force: *force, VerifyOnly: *verifyOnly, Parallel: *parallel, Progress: snapshot.NewProgress(stderr, "fetch")})
	if res != nil && res.Manifest != nil {
		sum := map[string]any{"manifest": res.Name, "chain": res.Manifest.Chain, "chain_id": res.Manifest.ChainID,
			"block": res.Manifest.Block, "block_hash": res.Manifest.BlockHash, "chunks": len(res.Manifest.Chunks)}
		if *verifyOnly {
			sum["ok"], sum["problems"] = len(res.Bad) == 0, res.Bad
		} else {
			sum["present"], sum["fetched"], sum["fetched_bytes"], sum["bad"] = res.Present, res.Fetched, res.FetchedBytes, len(res.Bad)
			sum["installed"] = err == nil
		}
		printJSON(stdout, sum)
	}
	if err != nil {
		return snapshotFail(stderr, err)
	}
	return 0
}

func snapshotPrune(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snapshot prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dest := fs.String("dest", "", "the store: a directory or s3://bucket/prefix")
	keep := fs.Int("keep", 0, "manifests to keep per chain (newest)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dest == "" || *keep < 1 {
		fmt.Fprintln(stderr, "usage: rpcgate snapshot prune --dest DEST --keep N (N ≥ 1)")
		return 2
	}
	store, err := snapshot.OpenStore(*dest)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	ctx, cancel := snapshotContext()
	defer cancel()
	res, err := snapshot.Prune(ctx, store, *keep)
	if err != nil {
		return snapshotFail(stderr, err)
	}
	printJSON(stdout, map[string]any{"removed_manifests": res.Manifests, "removed_chunks": res.Chunks, "kept": res.Kept})
	return 0
}

// parseSize reads "4096", "256KiB", "64MiB", "1GiB".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (bytes, or a number with KiB, MiB or GiB)", s)
	}
	return n * mult, nil
}
