package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/gateway"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "config file (YAML)")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "rpcgate serve: --config FILE is required")
		return 2
	}
	log, logs, err := telemetry.NewLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "rpcgate serve:", err)
		return 2
	}
	defer logs.Close()
	redis.SetLogger(telemetry.RedisLogger{Log: log})
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return serve(cfg, log, nil)
}

// serve runs the gateway until SIGINT/SIGTERM, then shuts down within the
// configured timeout. started, if set, is called once listeners are bound;
// the function it returns (if any) is called before the gateway shuts down
// and must stop and wait for whatever started began.
func serve(cfg *config.Config, log *slog.Logger, started func(*gateway.Gateway) (stop func())) int {
	gw, err := gateway.New(cfg, log, version)
	if err != nil {
		log.Error("cannot build gateway", "err", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Listen for signals before anything can announce the gateway, so a
	// signal sent right after start-up is never the default (fatal) one.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	if err := gw.Start(ctx); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	var stop func()
	if started != nil {
		stop = started(gw)
	}
	code := 0
wait:
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				// Reload logs its own outcome; a rejected config keeps the
				// old one serving.
				gw.Reload()
				continue
			}
			log.Info("shutting down", "signal", s.String(), "timeout", gw.ShutdownTimeout().String())
			break wait
		case err := <-gw.Err():
			log.Error("listener failed", "err", err)
			code = 1
			break wait
		}
	}
	if stop != nil {
		stop()
	}
	sctx, scancel := context.WithTimeout(context.Background(), gw.ShutdownTimeout())
	defer scancel()
	if err := gw.Shutdown(sctx); err != nil {
		log.Error("shutdown incomplete", "err", err)
		code = 1
	}
	return code
}
