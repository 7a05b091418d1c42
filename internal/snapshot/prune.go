package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// PruneResult says what a prune removed.
type PruneResult struct {
	Manifests, Chunks int
	Kept              []string
}

// Prune keeps the newest keep manifests of every chain and removes the
// others, then every chunk that no kept manifest references. Manifests
// are named by creation time, so name order is age order. Run it when no
// create is writing to the store: a create's chunks are referenced only
// once its manifest is written.
func Prune(ctx context.Context, s Store, keep int) (*PruneResult, error) {
	if keep < 1 {
		return nil, fmt.Errorf("snapshot: --keep must be at least 1")
	}
	names, err := s.List(ctx, "manifests/")
	if err != nil {
		return nil, err
	}
	byChain := map[string][]string{}
	for _, n := range names {
		if strings.HasSuffix(n, ".json") {
			byChain[path.Dir(n)] = append(byChain[path.Dir(n)], n)
		}
	}
	res := &PruneResult{}
	var drop []string
	for _, list := range byChain {
		sort.Strings(list)
		cut := max(0, len(list)-keep)
		drop = append(drop, list[:cut]...)
		res.Kept = append(res.Kept, list[cut:]...)
	}
	sort.Strings(res.Kept)
	used := map[string]bool{}
	for _, n := range res.Kept {
		raw, err := getAll(ctx, s, n, maxManifestBytes)
		if err != nil {
			return nil, err
		}
		// The publisher prunes its own store: the manifest's chunk list is
		// read without a key. A manifest that does not decode stops the
		// prune rather than orphaning what it references.
		var sg Signed
		var m Manifest
		if err := json.Unmarshal(raw, &sg); err != nil {
			return nil, fmt.Errorf("snapshot: %s: %w", n, err)
		}
		if err := json.Unmarshal(sg.Manifest, &m); err != nil {
			return nil, fmt.Errorf("snapshot: %s: %w", n, err)
		}
		for _, c := range m.Chunks {
			used[c.Hash] = true
		}
	}
	for _, n := range drop {
		if err := s.Delete(ctx, n); err != nil {
			return res, err
		}
		res.Manifests++
	}
	chunks, err := s.List(ctx, "chunks/")
	if err != nil {
		return res, err
	}
	for _, n := range chunks {
		h := strings.TrimSuffix(path.Base(n), ".zst")
		if used[h] {
			continue
		}
		if err := s.Delete(ctx, n); err != nil {
			return res, err
		}
		res.Chunks++
	}
	return res, nil
}
