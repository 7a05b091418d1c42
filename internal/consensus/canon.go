// Package consensus compares nodes' answers: canonical JSON (canon.go),
// what takes part and how answers are judged (compare.go), block pinning
// (pin.go) and the per-group policy (policy.go). It holds no state and
// sends nothing: the attempt engine (internal/execute) runs the rounds.
package consensus

import (
	"bytes"
	"errors"
	"slices"
)

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 128

var errSyntax = errors.New("consensus: malformed JSON")

// Canonical appends src in canonical form to dst: object members sorted by
// key, no whitespace; strings and numbers are kept exactly as written
// ("0x01" and "0x1", 1.0 and 1 differ). Members at an ignored path are
// left out. It fails on malformed JSON.
func Canonical(dst, src []byte, ignore Paths) ([]byte, error) {
	c := canon{src: src, ign: ignore}
	i := c.ws(0)
	out, i, err := c.value(dst, i, 0, nil)
	if err != nil {
		return dst, err
	}
	if c.ws(i) != len(src) {
		return dst, errSyntax
	}
	return out, nil
}

type canon struct {
	src  []byte
	ign  Paths
	path []string
}

func (c *canon) ws(i int) int {
	for i < len(c.src) {
		switch c.src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value canonicalises the value at i; live lists the ignore paths still
// matching the current path (nil at the root: all of them).
func (c *canon) value(dst []byte, i, depth int, live []int) ([]byte, int, error) {
	if i >= len(c.src) {
		return dst, i, errSyntax
	}
	if depth > maxDepth {
		return dst, i, errSyntax
	}
	switch b := c.src[i]; {
	case b == '{':
		return c.object(dst, i+1, depth, live)
	case b == '[':
		return c.array(dst, i+1, depth, live)
	case b == '"':
		end, err := stringEnd(c.src, i)
		if err != nil {
			return dst, i, err
		}
		return append(dst, c.src[i:end]...), end, nil
	default:
		end := i
		for end < len(c.src) && isLiteral(c.src[end]) {
			end++
		}
		if end == i || !validLiteral(c.src[i:end]) {
			return dst, i, errSyntax
		}
		return append(dst, c.src[i:end]...), end, nil
	}
}

func isLiteral(b byte) bool {
	return b == '-' || b == '+' || b == '.' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

func validLiteral(l []byte) bool {
	switch string(l) {
	case "true", "false", "null":
		return true
	}
	i := 0
	digits := func() int {
		n := 0
		for i < len(l) && l[i] >= '0' && l[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(l) && l[i] == '-' {
		i++
	}
	if i < len(l) && l[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(l) && l[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(l) && (l[i] == 'e' || l[i] == 'E') {
		i++
		if i < len(l) && (l[i] == '+' || l[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(l)
}

// stringEnd returns the index after the string token starting at i.
func stringEnd(src []byte, i int) (int, error) {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
			if j >= len(src) {
				return 0, errSyntax
			}
			switch src[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(src) || !isHex(src[j+1:j+5]) {
					return 0, errSyntax
				}
				j += 4
			default:
				return 0, errSyntax
			}
		case '"':
			return j + 1, nil
		default:
			if src[j] < 0x20 {
				return 0, errSyntax
			}
		}
	}
	return 0, errSyntax
}

type member struct {
	key []byte // the key token, quotes included
	val []byte // canonical value
}

func (c *canon) object(dst []byte, i, depth int, live []int) ([]byte, int, error) {
	var ms []member
	var buf []byte
	i = c.ws(i)
	if i < len(c.src) && c.src[i] == '}' {
		return append(dst, "{}"...), i + 1, nil
	}
	for {
		i = c.ws(i)
		if i >= len(c.src) || c.src[i] != '"' {
			return dst, i, errSyntax
		}
		kend, err := stringEnd(c.src, i)
		if err != nil {
			return dst, i, err
		}
		key := c.src[i:kend]
		i = c.ws(kend)
		if i >= len(c.src) || c.src[i] != ':' {
			return dst, i, errSyntax
		}
		i = c.ws(i + 1)
		sub, drop := c.ign.step(live, len(c.path), string(key[1:len(key)-1]))
		c.path = append(c.path, "")
		start := len(buf)
		buf, i, err = c.value(buf, i, depth+1, sub)
		c.path = c.path[:len(c.path)-1]
		if err != nil {
			return dst, i, err
		}
		if !drop {
			ms = append(ms, member{key: key, val: buf[start:len(buf):len(buf)]})
		}
		i = c.ws(i)
		if i >= len(c.src) {
			return dst, i, errSyntax
		}
		if c.src[i] == ',' {
			i++
			continue
		}
		if c.src[i] != '}' {
			return dst, i, errSyntax
		}
		i++
		break
	}
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for k, m := range ms {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}'), i, nil
}

func (c *canon) array(dst []byte, i, depth int, live []int) ([]byte, int, error) {
	dst = append(dst, '[')
	i = c.ws(i)
	if i < len(c.src) && c.src[i] == ']' {
		return append(dst, ']'), i + 1, nil
	}
	first := true
	for {
		sub, drop := c.ign.step(live, len(c.path), "*")
		c.path = append(c.path, "")
		var err error
		mark := len(dst)
		if !first && !drop {
			dst = append(dst, ',')
		}
		dst, i, err = c.value(dst, c.ws(i), depth+1, sub)
		c.path = c.path[:len(c.path)-1]
		if err != nil {
			return dst, i, err
		}
		if drop {
			dst = dst[:mark]
		} else {
			first = false
		}
		i = c.ws(i)
		if i >= len(c.src) {
			return dst, i, errSyntax
		}
		if c.src[i] == ',' {
			i++
			continue
		}
		if c.src[i] != ']' {
			return dst, i, errSyntax
		}
		return append(dst, ']'), i + 1, nil
	}
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
