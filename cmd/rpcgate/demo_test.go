package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoServes runs `rpcgate demo` on free ports, reads the endpoint it
// prints, makes a call through it, then stops it with SIGINT as a user would.
func TestDemoServes(t *testing.T) {
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- run([]string{"demo", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--load", "5", "--status-every", "200ms"}, pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var endpoint string
	for endpoint == "" && lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 2 && f[0] == "endpoint" {
			endpoint = f[1]
		}
	}
	if endpoint == "" {
		t.Fatalf("demo printed no endpoint; stderr: %s", &stderr)
	}
	go io.Copy(io.Discard, pr) // keep the demo's output flowing

	var answer struct {
		Result string `json:"result"`
		Error  any    `json:"error"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(endpoint, "application/json",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`))
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
		}
		if err == nil && answer.Result == "0x539" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no eth_chainId answer from %s: %v %+v; stderr: %s", endpoint, err, answer, &stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("demo exited %d; stderr: %s", code, &stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop on SIGINT")
	}
}
