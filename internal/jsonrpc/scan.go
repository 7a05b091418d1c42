package jsonrpc

import (
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects accepted in a body.
// The scanner recurses once per level, so the limit bounds its stack use.
const MaxDepth = 1000

// scanner validates JSON (RFC 8259) in place, without building anything.
// Its methods take the offset of a value's first byte and return the offset
// just past it, or -1 after recording the first error.
//
// Strings are checked for control characters and escapes but not for UTF-8
// validity, like encoding/json.Valid: bytes are forwarded to nodes untouched.
type scanner struct {
	b       []byte
	depth   int
	errAt   int
	errMsg  string // static text; empty while no error
	tooDeep bool
	esc     bool // the last string scanned held a backslash escape
}

// plain marks bytes that can appear unescaped inside a string and need no
// attention: everything but control characters, '"' and '\\'.
var plain = func() (t [256]bool) {
	for i := 0x20; i < 256; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

func (s *scanner) fail(at int, msg string) int {
	if s.errMsg == "" {
		s.errAt, s.errMsg = at, msg
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func (s *scanner) ws(i int) int {
	for i < len(s.b) && isSpace(s.b[i]) {
		i++
	}
	return i
}

func (s *scanner) value(i int) int {
	if i >= len(s.b) {
		return s.fail(i, "unexpected end of input")
	}
	switch c := s.b[i]; c {
	case '"':
		return s.str(i)
	case '{':
		return s.object(i)
	case '[':
		return s.array(i)
	case 't':
		return s.lit(i, "true")
	case 'f':
		return s.lit(i, "false")
	case 'n':
		return s.lit(i, "null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return s.number(i)
		}
	}
	return s.fail(i, "invalid character")
}

func (s *scanner) lit(i int, word string) int {
	if len(s.b)-i < len(word) || string(s.b[i:i+len(word)]) != word {
		return s.fail(i, "invalid literal")
	}
	return i + len(word)
}

func (s *scanner) number(i int) int {
	b := s.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return s.fail(i, "unexpected end of number")
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	default:
		return s.fail(i, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
		if i == d {
			return s.fail(i, "invalid number: no digit after '.'")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
		if i == d {
			return s.fail(i, "invalid number: no digit in exponent")
		}
	}
	return i
}

// str scans the string whose opening quote is at i and sets s.esc.
func (s *scanner) str(i int) int {
	b := s.b
	s.esc = false
	for i++; ; {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return s.fail(i, "unterminated string")
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			s.esc = true
			if i+1 >= len(b) {
				return s.fail(i, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return s.fail(i, `invalid \u escape`)
				}
				i += 6
			default:
				return s.fail(i, "invalid escape")
			}
		default:
			return s.fail(i, "control character in string")
		}
	}
}

func (s *scanner) enter(i int) bool {
	s.depth++
	if s.depth > MaxDepth {
		s.tooDeep = true
		s.fail(i, "nesting too deep")
		return false
	}
	return true
}

func (s *scanner) object(i int) int {
	if !s.enter(i) {
		return -1
	}
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		s.depth--
		return i + 1
	}
	for {
		if i >= len(s.b) || s.b[i] != '"' {
			return s.fail(i, "expected a member name")
		}
		if i = s.str(i); i < 0 {
			return -1
		}
		if i = s.colon(i); i < 0 {
			return -1
		}
		if i = s.value(i); i < 0 {
			return -1
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return s.fail(i, "unterminated object")
		}
		switch s.b[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			s.depth--
			return i + 1
		default:
			return s.fail(i, "expected ',' or '}' in object")
		}
	}
}

// colon skips the ':' after a member name at i, and the whitespace around it.
func (s *scanner) colon(i int) int {
	i = s.ws(i)
	if i >= len(s.b) || s.b[i] != ':' {
		return s.fail(i, "expected ':' after a member name")
	}
	return s.ws(i + 1)
}

func (s *scanner) array(i int) int {
	if !s.enter(i) {
		return -1
	}
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == ']' {
		s.depth--
		return i + 1
	}
	for {
		if i = s.value(i); i < 0 {
			return -1
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return s.fail(i, "unterminated array")
		}
		switch s.b[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			s.depth--
			return i + 1
		default:
			return s.fail(i, "expected ',' or ']' in array")
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) rune {
	switch {
	case c <= '9':
		return rune(c - '0')
	case c >= 'a':
		return rune(c-'a') + 10
	default:
		return rune(c-'A') + 10
	}
}

// unquote appends the decoded contents of the string token q (quotes
// included, already validated by the scanner) to dst. Lone surrogates become
// U+FFFD, as in encoding/json.
func unquote(dst, q []byte) []byte {
	q = q[1 : len(q)-1]
	for i := 0; i < len(q); {
		c := q[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch q[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(q[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if len(q)-i >= 6 && q[i] == '\\' && q[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(q[i+2:])); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, q[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}

// equalString reports whether the string token q (quotes included, validated,
// with escapes when esc) decodes to want, without allocating.
func equalString(q []byte, esc bool, want string) bool {
	if !esc {
		return len(q) == len(want)+2 && string(q[1:len(q)-1]) == want
	}
	// An escape never lengthens a string, and shortens it at most sixfold.
	if n := len(q) - 2; n < len(want) || n > 6*len(want) {
		return false
	}
	var buf [64]byte
	if len(want) > len(buf) {
		return string(unquote(nil, q)) == want
	}
	return string(unquote(buf[:0], q)) == want
}
