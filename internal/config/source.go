package config

import (
	"regexp"
	"strconv"
	"strings"
)

// source remembers where in the file every path was seen, so that checks run
// after decoding (validate.go) can still point at a line. It is internal: the
// public structs carry no positions.
type source struct {
	file string
	pos  map[string]position
	// bad holds paths whose value failed to decode; later checks stay quiet
	// about them and their children to avoid reporting one mistake twice.
	bad map[string]bool
}

// position is where a path's key and value start (1-based lines and columns).
// For a list item the key position is the item's own.
type position struct {
	keyLine, keyCol int
	line, col       int
	// null is set when the value is an explicit YAML null (`key:` or `~`),
	// which counts as not set.
	null bool
}

func newSource(file string) *source {
	return &source{file: file, pos: map[string]position{}, bad: map[string]bool{}}
}

// has reports whether path was written in the file with a non-null value.
func (s *source) has(path string) bool {
	p, ok := s.pos[path]
	return ok && !p.null
}

// at returns the position of path's value or, when path was not written, of
// the key of its nearest written ancestor: a missing chain_id is reported at
// the chain's name.
func (s *source) at(path string) (line, col int) {
	if p, ok := s.pos[path]; ok {
		return p.line, p.col
	}
	return s.keyAt(path)
}

// keyAt is like at but returns the position of the key.
func (s *source) keyAt(path string) (line, col int) {
	for {
		if p, ok := s.pos[path]; ok {
			return p.keyLine, p.keyCol
		}
		if path == "" {
			return 0, 0
		}
		path = parentPath(path)
	}
}

// suppressed reports whether path, or one of its ancestors, already has a
// decoding problem.
func (s *source) suppressed(path string) bool {
	for {
		if s.bad[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

// plainKey matches map keys written in paths without quoting.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinPath appends a key to a dotted path. Keys that could be mistaken for
// path syntax (dots, brackets, spaces) are quoted: chains["eth.main"].
func joinPath(parent, key string) string {
	if !plainKey.MatchString(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// indexPath appends a list index: groups.logs.nodes[0].
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parentPath drops the last element of a path built by joinPath/indexPath.
func parentPath(path string) string {
	if strings.HasSuffix(path, `"]`) {
		if i := strings.LastIndex(path, `["`); i >= 0 {
			return path[:i]
		}
	}
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndex(path, "["); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}

// lastKey is the last element of a path, for messages: "workers".
func lastKey(path string) string {
	p := parentPath(path)
	k := strings.TrimPrefix(path[len(p):], ".")
	if strings.HasPrefix(k, "[") && !strings.HasPrefix(k, `["`) {
		return lastKey(p) + k // a list item: nodes[0]
	}
	if strings.HasPrefix(k, `["`) {
		if u, err := strconv.Unquote(k[1 : len(k)-1]); err == nil {
			return u
		}
	}
	return k
}
