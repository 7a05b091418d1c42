package frontend

import (
	"bytes"
	"encoding/json"

	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// logFields is a JSON log line's keys in order and its values, without
// the ones that differ between two requests.
func logFields(t *testing.T, line string) (keys []string, vals map[string]any) {
	t.Helper()
	vals = map[string]any{}
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		keys = append(keys, k.(string))
		switch k {
		case "time", "request_id", "duration":
		default:
			vals[k.(string)] = v
		}
	}
	return keys, vals
}

// The per-request line encoded by the frontend for telemetry's JSON
// handler has the same keys, order and values as the line slog encodes,
// including when a value needs escaping and the frontend falls back to
// slog.
func TestAccessLineMatchesSlog(t *testing.T) {
	var fast, std bytes.Buffer
	fastLog, closer, err := telemetry.NewLogger(&fast, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fastLog.Handler().(telemetry.JSONLineWriter); !ok {
		t.Fatal("telemetry's JSON handler does not offer the line shortcut: this test would prove nothing")
	}
	fs, _ := logServer(t, fastLog)
	ss, _ := logServer(t, slog.New(slog.NewJSONHandler(&std, nil)))
	bodies := []string{
		`{"jsonrpc":"2.0","id":1,"method":"admin_peers"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"admin_x"},5]`,
		`{"jsonrpc":"2.0","id":1,"method":"admin_\"quoted\u00e9"}`,
		`{"jsonrpc":`,
	}
	for _, b := range bodies {
		for _, s := range []*Server{fs, ss} {
			r := httptest.NewRequest("POST", "/eth", strings.NewReader(b))
			s.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	closer.Close()
	fl := strings.Split(strings.TrimSpace(fast.String()), "\n")
	sl := strings.Split(strings.TrimSpace(std.String()), "\n")
	if len(fl) != len(bodies) || len(sl) != len(bodies) {
		t.Fatalf("%d and %d lines for %d requests:\n%s\n%s", len(fl), len(sl), len(bodies), fast.String(), std.String())
	}
	for i := range bodies {
		fk, fv := logFields(t, fl[i])
		sk, sv := logFields(t, sl[i])
		if strings.Join(fk, ",") != strings.Join(sk, ",") {
			t.Errorf("keys differ:\n%v\n%v", fk, sk)
		}
		fj, _ := json.Marshal(fv)
		sj, _ := json.Marshal(sv)
		if !bytes.Equal(fj, sj) {
			t.Errorf("values differ:\n%s\n%s", fj, sj)
		}
	}
}

// The line is written from the relay record: a call the first node fails
// (HTTP 502) and the second answers logs the answering node and two
// attempts, the same values as before the record existed.
func TestAccessLineRetriedCall(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, closer, err := telemetry.NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	s := loopbackServer(t, log, func(n int64) bool { return n == 1 }, "a", "b")
	r := httptest.NewRequest("POST", "/eth", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000000","latest"]}`))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	closer.Close()
	if w.Code != 200 || w.Body.String() != `{"jsonrpc":"2.0","id":1,"result":"0x10"}` {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	var line string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			line = l
		}
	}
	_, v := logFields(t, line)
	if n := v["node"]; n != "a" && n != "b" {
		t.Errorf("node %v, want the node that answered (a or b): %s", n, line)
	}
	if v["attempts"] != 2.0 || v["status"] != 200.0 || v["code"] != 0.0 || v["bytes"] != float64(w.Body.Len()) || v["methods"] != "eth_getBalance" {
		t.Errorf("line %s, want 2 attempts, status 200, code 0, %d bytes", line, w.Body.Len())
	}
}
