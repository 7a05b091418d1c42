package jsonrpc

import (
	"encoding/json"
	"testing"
)

func TestAppendError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id, data []byte
		code     int
		msg      string
		want     string
	}{
		{[]byte("1"), nil, CodeParse, "parse error", `{"jsonrpc":"2.0","id":1,"error":{"code":-32700,"message":"parse error"}}`},
		{nil, nil, CodeInvalidRequest, "x", `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}`},
		{[]byte(`"\u0041"`), []byte(`{"k":[1]}`), 3, "reverted", `{"jsonrpc":"2.0","id":"\u0041","error":{"code":3,"message":"reverted","data":{"k":[1]}}}`},
		{[]byte("7"), nil, 1, "q\"b\\s\n\t\r\x01\x1f</>é", `{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"q\"b\\s\n\t\r\u0001\u001f</>é"}}`},
		{[]byte("7"), nil, 1, "bad\xffutf8\xc3", `{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"bad\ufffdutf8\ufffd"}}`},
	}
	for _, tt := range tests {
		got := AppendError([]byte("prefix"), tt.id, tt.code, tt.msg, tt.data)
		if string(got) != "prefix"+tt.want {
			t.Errorf("AppendError(%q)\n got: %s\nwant: prefix%s", tt.msg, got, tt.want)
		}
		if !json.Valid(got[len("prefix"):]) {
			t.Errorf("AppendError(%q) is not valid JSON", tt.msg)
		}
	}
}

func TestAppendStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "\"\\/\b\f\n\r\t\x00\x7f", "日本語 😀", "\u2028"} {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil || back != s {
			t.Errorf("AppendString(%q) decodes to %q, %v", s, back, err)
		}
	}
}

func TestAppendResult(t *testing.T) {
	t.Parallel()
	if got := string(AppendResult(nil, []byte(`"x"`), []byte(`{"a":1}`))); got != `{"jsonrpc":"2.0","id":"x","result":{"a":1}}` {
		t.Errorf("AppendResult = %s", got)
	}
	if got := string(AppendResult(nil, nil, nil)); got != `{"jsonrpc":"2.0","id":null,"result":null}` {
		t.Errorf("AppendResult(nil, nil) = %s", got)
	}
}

func TestErrorInterface(t *testing.T) {
	t.Parallel()
	var err error = &Error{Code: CodeMethodNotFound, Message: "the method x does not exist"}
	coder, ok := err.(interface{ ErrorCode() int })
	if !ok || coder.ErrorCode() != -32601 || err.Error() != "jsonrpc error -32601: the method x does not exist" {
		t.Errorf("Error = %q", err.Error())
	}
}
