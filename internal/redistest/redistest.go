// Package redistest is test support for packages that talk to Redis: it
// finds the shared Redis (failing, never skipping, with a hint on how to
// start it), hands out key prefixes that are deleted when the test ends,
// and runs private redis-server processes that a test may kill and
// restart to see an outage.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hint says how to start the shared Redis.
const Hint = "start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"

// Addr is the shared Redis: REDIS_ADDR, default 127.0.0.1:6379.
func Addr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Need returns the shared Redis's address, failing the test when it does
// not answer.
func Need(t testing.TB) string {
	t.Helper()
	addr := Addr()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis not reachable at %s: %s (%v)", addr, Hint, err)
	}
	return addr
}

// NewPrefix returns a key prefix unique to this run of the test.
func NewPrefix(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", ":", " ", "_").Replace(t.Name())
	return "rpcgate-test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// Cleanup deletes the keys under prefix on addr when the test ends.
func Cleanup(t testing.TB, addr, prefix string) {
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
}

// Prefix is NewPrefix whose keys on addr are deleted when the test ends.
func Prefix(t testing.TB, addr string) string {
	p := NewPrefix(t)
	Cleanup(t, addr, p)
	return p
}

// Shared is Need and Prefix in one: the shared Redis's address and a key
// prefix of the test's own there, deleted when the test ends.
func Shared(t testing.TB) (addr, prefix string) {
	t.Helper()
	addr = Need(t)
	return addr, Prefix(t, addr)
}

// Keys lists the keys under prefix on addr.
func Keys(t testing.TB, addr, prefix string) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("redis SCAN %s*: %v", prefix, err)
	}
	return keys
}

// Server is a private redis-server on a free loopback port, without
// automatic persistence; its dump file in Dir is loaded at start, so an
// explicit SAVE survives a restart.
type Server struct {
	t    testing.TB
	Port int
	Dir  string
	cmd  *exec.Cmd
}

// StartServer starts a private server, killed when the test ends.
func StartServer(t testing.TB) *Server {
	s := NewServer(t, t.TempDir())
	s.Start()
	return s
}

// NewServer prepares (does not start) a server on a free port whose data
// lives in dir; it is killed when the test ends.
func NewServer(t testing.TB, dir string) *Server {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &Server{t: t, Port: port, Dir: dir}
	t.Cleanup(s.Kill)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Start runs the server (again, after Kill) and waits until it answers.
func (s *Server) Start() {
	t := s.t
	t.Helper()
	cmd := exec.Command("/usr/bin/redis-server", "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.Dir, "--dbfilename", "dump.rdb")
	// If the test binary dies (timeout panic, ^C) the kernel kills the server too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	s.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer", s.Addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server at once (an outage); safe to call twice.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
