package snapshot

import (
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

var fuzzKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// FuzzOpenManifest feeds the decoder and verifier arbitrary stored bytes:
// it must never panic, and whatever it accepts was signed by the key.
func FuzzOpenManifest(f *testing.F) {
	m := &Manifest{Version: FormatVersion, Chain: "eth", ChunkSize: 4,
		Files:  []File{{Path: "a", Dir: true, Mode: 0o755}, {Path: "a/b", Mode: 0o644, Size: 5}},
		Chunks: []Chunk{{Hash: strings.Repeat("ab", 32), File: 1, Size: 4, Stored: 9}, {Hash: strings.Repeat("cd", 32), File: 1, Offset: 4, Size: 1, Stored: 9}}}
	raw, _ := Sign(m, fuzzKey)
	f.Add(raw)
	f.Add([]byte(`{"manifest":{},"signature":""}`))
	f.Add([]byte(`{"manifest":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Open(raw, fuzzKey.Public().(ed25519.PublicKey))
		if err != nil {
			return
		}
		var s Signed
		if json.Unmarshal(raw, &s) != nil || !ed25519.Verify(fuzzKey.Public().(ed25519.PublicKey), s.Manifest, s.Signature) {
			t.Fatal("accepted a manifest the key did not sign")
		}
		checkInside(t, m)
	})
}

// FuzzManifestValidate skips the signature (the fuzzer cannot forge one)
// and checks that a manifest that validates keeps every path inside DIR
// and every chunk inside its file.
func FuzzManifestValidate(f *testing.F) {
	f.Add([]byte(`{"version":1,"chunk_size":4,"files":[{"path":"a","dir":true},{"path":"a/b","size":1}],"chunks":[{"hash":"` + strings.Repeat("ab", 32) + `","file":1,"size":1,"stored":3}]}`))
	f.Add([]byte(`{"version":1,"chunk_size":4,"files":[{"path":"../x","size":1}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m Manifest
		if json.Unmarshal(raw, &m) != nil || m.Validate() != nil {
			return
		}
		checkInside(t, &m)
	})
}

func checkInside(t *testing.T, m *Manifest) {
	root := "/data/dir"
	for _, f := range m.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if !strings.HasPrefix(p, root+"/") || filepath.IsAbs(f.Path) {
			t.Fatalf("path %q escapes: %s", f.Path, p)
		}
	}
	for _, c := range m.Chunks {
		f := m.Files[c.File]
		if f.Dir || c.Offset < 0 || c.Offset+c.Size > f.Size {
			t.Fatalf("chunk %+v outside file %+v", c, f)
		}
	}
}

// FuzzParseLatest: latest.json never panics the parser, and what it
// accepts names a manifest inside the store.
func FuzzParseLatest(f *testing.F) {
	f.Add([]byte(`{"chain":"eth","manifest":"manifests/eth/x.json","block":1}`))
	f.Add([]byte(`{"manifest":"manifests/../../etc/passwd.json"}`))
	f.Add([]byte(`{"manifest":"/manifests/x.json"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := ParseLatest(raw)
		if err != nil {
			return
		}
		if CheckPath(l.Manifest) != nil || !strings.HasPrefix(l.Manifest, "manifests/") || strings.Contains(l.Manifest, "..") && strings.Contains("/"+l.Manifest+"/", "/../") {
			t.Fatalf("accepted %q", l.Manifest)
		}
	})
}
