// Package natstest is test support for the summary stream: a private
// JetStream-enabled nats-server embedded in the test process, on its own
// port and store directory, that a test may stop and restart (same port,
// same data) to see a broker outage. The machine's own NATS is never
// touched.
package natstest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is one embedded JetStream server.
type Server struct {
	t    testing.TB
	port int
	dir  string
	mu   sync.Mutex
	srv  *server.Server
}

// Start runs a server on a free loopback port with a fresh store; it is
// shut down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, port: freePort(t), dir: t.TempDir()}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// New reserves a port and a store without starting (a broker that is down
// from the beginning); call Restart to start it.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, port: freePort(t), dir: t.TempDir()}
	t.Cleanup(s.Stop)
	return s
}

// URL is nats://127.0.0.1:<port>.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Stop shuts the server down (clients see the connection drop).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Restart starts the server again on the same port and store.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	opts := &server.Options{Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir, NoLog: true, NoSigs: true}
	var err error
	for i := 0; i < 50; i++ { // the port may linger for a moment after a stop
		var srv *server.Server
		srv, err = server.NewServer(opts)
		if err == nil {
			go srv.Start()
			if srv.ReadyForConnections(10 * time.Second) {
				s.srv = srv
				return
			}
			srv.Shutdown()
			err = fmt.Errorf("not ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("nats-server on port %d: %v", s.port, err)
}

// Records reads every message of stream from its start and returns their
// payloads, failing the test on error.
func (s *Server) Records(t testing.TB, stream string) [][]byte {
	t.Helper()
	nc, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := info.State.Msgs
	var out [][]byte
	if total == 0 {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for uint64(len(out)) < total {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			out = append(out, m.Data())
			n++
		}
		if n == 0 {
			t.Fatalf("stream %s: read %d of %d messages, then nothing", stream, len(out), total)
		}
	}
	return out
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
