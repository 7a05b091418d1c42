package jsonrpc

import (
	"bytes"
	"strconv"
	"testing"
)

var (
	benchSingle = []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x10",false]}`)
	benchBatch  = func() []byte {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"eth_getBlockByNumber","params":["0x10",false]}`)
		}
		b.WriteByte(']')
		return b.Bytes()
	}()
	benchResponse = []byte(`{"jsonrpc":"2.0","id":1,"result":{"number":"0x10","hash":"0x88e96d4537bea4d9c05d12549907b32561d3bf31f45aae734cdc119f13406cb6","transactions":["0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"],"gasUsed":"0x0","timestamp":"0x55ba4242"}}`)
)

func BenchmarkDecodeSingle(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchSingle)))
	dst := make([]Request, 0, 1)
	for b.Loop() {
		reqs, _, err := DecodeInto(dst, benchSingle, 1000)
		if err != nil || reqs[0].Err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBatch100(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBatch)))
	dst := make([]Request, 0, 100)
	for b.Loop() {
		if _, _, err := DecodeInto(dst, benchBatch, 1000); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendError(b *testing.B) {
	b.ReportAllocs()
	dst := make([]byte, 0, 256)
	id := []byte(`"req-42"`)
	for b.Loop() {
		dst = AppendError(dst[:0], id, -32000, "header not found: block 0x10 is not \"known\" yet", nil)
	}
}

func BenchmarkScanResponse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchResponse)))
	for b.Loop() {
		if _, err := ScanResponse(benchResponse); err != nil {
			b.Fatal(err)
		}
	}
}
