package store

import (
	"context"
	"net"
	"strings"
	"testing"
)

// TestSourceErrorHidesNodeURL: a node URL's credentials never reach an
// error (the writer logs its errors).
func TestSourceErrorHidesNodeURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a closed port: the call fails to connect
	s := &Source{URL: "http://user:hunter2@" + addr + "/?key=topsecret"}
	_, err = s.Call(context.Background(), "eth_blockNumber")
	if err == nil {
		t.Fatal("call to a closed port succeeded")
	}
	if m := err.Error(); strings.Contains(m, "hunter2") || strings.Contains(m, "topsecret") {
		t.Fatalf("error shows the node URL's secrets: %s", m)
	}
}
