package jsonrpc

import (
	"strconv"
	"unicode/utf8"
)

// AppendError appends {"jsonrpc":"2.0","id":<id>,"error":{"code":..,"message":"..","data":..}}
// to dst. A nil id is written as null and a nil data is left out; msg is
// JSON-escaped (invalid UTF-8 becomes U+FFFD), id and data go out verbatim.
func AppendError(dst, id []byte, code int, msg string, data []byte) []byte {
	dst = appendHead(dst, id)
	dst = append(dst, `,"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"message":`...)
	dst = AppendString(dst, msg)
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	return append(dst, "}}"...)
}

// AppendResult appends {"jsonrpc":"2.0","id":<id>,"result":<result>} to dst,
// with null for a nil id or result.
func AppendResult(dst, id, result []byte) []byte {
	dst = appendHead(dst, id)
	dst = append(dst, `,"result":`...)
	if result == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, result...)
	}
	return append(dst, '}')
}

func appendHead(dst, id []byte) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	if id == nil {
		return append(dst, "null"...)
	}
	return append(dst, id...)
}

// SpliceID appends raw to dst with raw[start:end] replaced by id: the way a
// request goes upstream under a gateway id, or an answer returns under the
// client's id, without re-encoding anything else.
func SpliceID(raw []byte, start, end int, id []byte, dst []byte) []byte {
	dst = append(dst, raw[:start]...)
	dst = append(dst, id...)
	return append(dst, raw[end:]...)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Quotes, backslashes and control
// characters are escaped; invalid UTF-8 is replaced by U+FFFD. HTML characters
// are left alone: answers are not embedded in HTML.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	from := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[from:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			from = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[from:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			from = i
			continue
		}
		i += size
	}
	dst = append(dst, s[from:]...)
	return append(dst, '"')
}
