package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rpcgate/rpcgate/internal/watch"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// fileVersion is the state file's format version.
const fileVersion = 1

// fileState is the state file's JSON shape.
type fileState struct {
	Version int                `json:"version"`
	Entries []Entry            `json:"entries"`
	History map[string][]Event `json:"history,omitempty"`
	// Series is the status page's bucketed history, by chain then node.
	Series map[string]map[string]NodeSeries `json:"series,omitempty"`
}

// fileStore keeps entries and history in one JSON file, rewritten atomically
// on every change. The file is read once at Open; the process owns it from
// then on (one gateway per file; replicas share state through Redis).
type fileStore struct {
	path      string
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time

	mu      sync.Mutex
	entries map[string]Entry   // by key()
	history map[string][]Event // by chain, oldest first
	series  map[string]map[string]NodeSeries
	closed  bool

	watch watch.Notifier
	done  chan struct{}
	once  sync.Once
}

var _ Store = (*fileStore)(nil)

func newFileStore(path string, retention time.Duration, log *slog.Logger, now func() time.Time) *fileStore {
	return &fileStore{
		path:      path,
		retention: retention,
		log:       log,
		now:       now,
		entries:   map[string]Entry{},
		history:   map[string][]Event{},
		series:    map[string]map[string]NodeSeries{},
		done:      make(chan struct{}),
	}
}

// NewMemory returns a store that keeps everything in memory: the file
// store without a file, for a gateway whose config names neither a state
// file nor Redis (the demo, configs given as bytes). Run-time changes then
// last until the process exits.
func NewMemory() Store {
	return newFileStore("", DefaultRetention, slog.New(slog.DiscardHandler), time.Now)
}

func openFile(cfg Config, log *slog.Logger, now func() time.Time) (*fileStore, error) {
	s := newFileStore(cfg.File, cfg.Retention, log, now)
	data, err := os.ReadFile(cfg.File)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: reading state file: %w", err)
	}
	var st fileState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("registry: state file %s is corrupt: %w (hint: restore it from a backup or move it away; it holds run-time node changes and uptime history)", cfg.File, err)
	}
	if st.Version != fileVersion {
		return nil, fmt.Errorf("registry: state file %s has version %d, this build reads version %d", cfg.File, st.Version, fileVersion)
	}
	for _, e := range st.Entries {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("registry: state file %s: %w", cfg.File, err)
		}
		s.entries[e.key()] = e
	}
	for chain, evs := range st.History {
		sortEvents(evs)
		s.history[chain] = evs
	}
	for chain, nodes := range st.Series {
		if nodes != nil {
			s.series[chain] = nodes
		}
	}
	return s, nil
}

func (s *fileStore) Load(ctx context.Context) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot(), nil
}

// snapshot returns a sorted deep copy of the entries; s.mu must be held.
func (s *fileStore) snapshot() []Entry {
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e.clone())
	}
	sortEntries(out)
	return out
}

func (s *fileStore) Put(ctx context.Context, e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Updated.IsZero() {
		e.Updated = s.now()
	}
	e.Updated = e.Updated.UTC()
	e = e.clone()
	return s.change(func(entries map[string]Entry, _ map[string][]Event) { entries[e.key()] = e }, true)
}

func (s *fileStore) Delete(ctx context.Context, chain, name string) error {
	return s.change(func(entries map[string]Entry, _ map[string][]Event) { delete(entries, entryKey(chain, name)) }, true)
}

func (s *fileStore) Record(ctx context.Context, ev Event) error {
	if err := checkEvent(&ev, s.now().UTC()); err != nil {
		return err
	}
	return s.change(func(_ map[string]Entry, history map[string][]Event) {
		evs := history[ev.Chain]
		if n := len(evs); n > 0 && ev.At.Before(evs[n-1].At) {
			// Out of order (rare): copy, so the committed slice is untouched
			// should the write fail.
			evs = append(slices.Clip(evs), ev)
			sortEvents(evs)
		} else {
			// Appending past len never changes what the committed slice sees.
			evs = append(evs, ev)
		}
		history[ev.Chain] = trimEvents(evs, s.now().Add(-s.retention))
	}, false)
}

// trimEvents drops events before cutoff and all but the newest
// MaxEventsPerChain from evs (oldest first).
func trimEvents(evs []Event, cutoff time.Time) []Event {
	i, _ := slices.BinarySearchFunc(evs, cutoff, func(ev Event, t time.Time) int { return ev.At.Compare(t) })
	evs = evs[i:]
	if len(evs) > MaxEventsPerChain {
		evs = evs[len(evs)-MaxEventsPerChain:]
	}
	return evs
}

func (s *fileStore) Events(ctx context.Context, chain string, since time.Time) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.history[chain]
	i, _ := slices.BinarySearchFunc(evs, since, func(ev Event, t time.Time) int { return ev.At.Compare(t) })
	return slices.Clone(evs[i:]), nil
}

// change applies fn to copies of the maps, writes the result and commits it
// only when the write succeeded, so memory never runs ahead of the file.
func (s *fileStore) change(fn func(map[string]Entry, map[string][]Event), notify bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("registry: store is closed")
	}
	entries, history := maps.Clone(s.entries), maps.Clone(s.history)
	fn(entries, history)
	if s.path != "" {
		if err := s.write(entries, history, s.series); err != nil {
			return err
		}
	}
	s.entries, s.history = entries, history
	if notify {
		s.watch.Signal()
	}
	return nil
}

// write persists a state atomically.
func (s *fileStore) write(entries map[string]Entry, history map[string][]Event, series map[string]map[string]NodeSeries) error {
	st := fileState{Version: fileVersion, History: history, Series: series}
	for _, e := range entries {
		st.Entries = append(st.Entries, e)
	}
	sortEntries(st.Entries)
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("registry: encoding state: %w", err)
	}
	if err := writeFileAtomic(s.path, data); err != nil {
		return fmt.Errorf("registry: writing state file %s: %w", s.path, err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new file, never a torn one: write a temp file in the same
// directory, fsync it, rename it over path, fsync the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *fileStore) Watch(ctx context.Context, fn func([]Entry)) {
	wake, stop := s.watch.Add(false)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-wake:
			s.mu.Lock()
			set := s.snapshot()
			s.mu.Unlock()
			fn(set)
		}
	}
}

func (s *fileStore) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
	})
	return nil
}

var _ Series = (*fileStore)(nil)

// RecordSample implements Series.
func (s *fileStore) RecordSample(ctx context.Context, sm Sample) error {
	return s.RecordSamples(ctx, []Sample{sm})
}

// RecordSamples implements Series: one write for all of ss.
func (s *fileStore) RecordSamples(ctx context.Context, ss []Sample) error {
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("registry: store is closed")
	}
	series := maps.Clone(s.series)
	var firstErr error
	changed := false
	for _, sm := range ss {
		if err := checkSample(&sm, now); err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		nodes := series[sm.Chain]
		ns, ok := nodes[sm.Node]
		if !ok && len(nodes) >= MaxSeriesNodes {
			continue // bounded: a chain's first MaxSeriesNodes nodes only
		}
		ns = cloneSeries(ns)
		ns.Node = sm.Node
		ns.Add(sm, now)
		nodes = maps.Clone(nodes)
		if nodes == nil {
			nodes = map[string]NodeSeries{}
		}
		nodes[sm.Node] = ns
		series[sm.Chain] = nodes
		changed = true
	}
	if !changed {
		return firstErr
	}
	if s.path != "" {
		if err := s.write(s.entries, s.history, series); err != nil {
			return err
		}
	}
	s.series = series
	return firstErr
}

// Series implements Series.
func (s *fileStore) Series(ctx context.Context, chain string) ([]NodeSeries, error) {
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]NodeSeries, 0, len(s.series[chain]))
	for _, ns := range s.series[chain] {
		ns = cloneSeries(ns)
		ns.Trim(now)
		out = append(out, ns)
	}
	slices.SortFunc(out, func(a, b NodeSeries) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}
