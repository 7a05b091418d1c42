package jsonrpc

import (
	"bytes"
	"fmt"
	"strconv"
)

// Request is one call decoded from a client body. Byte slices alias the body;
// nothing is copied.
type Request struct {
	Raw            []byte // the element's exact bytes (an object unless Err is set), trimmed of whitespace
	ID             []byte // raw JSON of the id: number, "string" (quotes kept) or null; nil when absent
	IDStart, IDEnd int    // byte range of the id value inside Raw, valid when ID != nil
	Method         string // interned for known methods (no allocation), copied otherwise
	Params         []byte // raw params (array or object); nil when absent
	Err            *Error // non-nil when the element is not a valid request (-32600); read-only
}

// IsNotification reports a valid request with no "id" member: it gets no answer.
func (r *Request) IsNotification() bool { return r.Err == nil && r.ID == nil }

// IsCall reports a valid request with an id (null included): it gets an answer.
func (r *Request) IsCall() bool { return r.Err == nil && r.ID != nil }

// Decode validates a client body and splits it into requests.
//
//   - Invalid JSON gives (nil, false, -32700 "parse error: ...").
//   - An array is a batch: each element becomes a Request; an element that is
//     not a valid request has Err set (-32600) and ID set when a number, string
//     or null id could be read. An empty array gives (nil, true, -32600 "empty
//     batch"); more than maxBatch elements (when maxBatch > 0) gives
//     (nil, true, -32600 "batch of N exceeds the limit of M").
//   - An object gives one Request and batch=false. Any other value gives
//     (nil, false, -32600).
//
// Rules for a request: "jsonrpc" is exactly "2.0"; "method" is a non-empty
// string; "params", when present, is an array, an object or null (= absent); "id", when present,
// is a number, a string or null (another type is -32600 and the answer carries
// a null id). Other members are ignored and forwarded as they are.
//
// The four member names must be spelled exactly, without escapes. A name that
// matches one of them case-insensitively (with Unicode simple folding, as Go's
// encoding/json matches struct fields: "Method", "ID", "paramſ") or only after
// unescaping ("\u006dethod") makes the element invalid: a node that decodes
// such a name as the member would run a call the gateway never routed or
// policed (issue 8, defect 3).
//
// A duplicate "jsonrpc", "method", "params" or "id" member makes the element
// invalid: nodes differ on which copy wins (Go's encoding/json keeps the last),
// so accepting one would let the gateway route on a method the node does not
// run.
//
// Leading and trailing JSON whitespace is allowed; a UTF-8 byte order mark is
// not (it is not JSON whitespace, and encoding/json rejects it too). Nesting
// deeper than MaxDepth is rejected with -32600 without recursing further.
func Decode(body []byte, maxBatch int) (reqs []Request, batch bool, err *Error) {
	return DecodeInto(nil, body, maxBatch)
}

// DecodeInto is Decode appending to dst[:0], so that a pooled slice can be
// reused. The result aliases both dst's array and body.
func DecodeInto(dst []Request, body []byte, maxBatch int) (reqs []Request, batch bool, err *Error) {
	s := scanner{b: body}
	reqs = dst[:0]
	i := s.ws(0)
	if i >= len(body) {
		return nil, false, &Error{Code: CodeParse, Message: "parse error: empty body"}
	}
	var end int
	switch body[i] {
	case '{':
		reqs = append(reqs, Request{})
		end = s.request(i, &reqs[0])
	case '[':
		batch = true
		var n int
		end, n = s.batch(i, &reqs, maxBatch)
		if end >= 0 && s.ws(end) == len(body) {
			if n == 0 {
				return nil, true, errEmptyBatch
			}
			if maxBatch > 0 && n > maxBatch {
				return nil, true, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf(errBatchTemplate, n, maxBatch)}
			}
		}
	default:
		end = s.value(i)
		if end >= 0 && s.ws(end) == len(body) {
			return nil, false, errNotRequest
		}
	}
	if end < 0 {
		if s.tooDeep {
			return nil, batch, errTooDeep
		}
		return nil, false, parseError(body, s.errAt, s.errMsg)
	}
	if j := s.ws(end); j != len(body) {
		return nil, false, parseError(body, j, "data after the JSON value")
	}
	return reqs, batch, nil
}

func parseError(body []byte, at int, msg string) *Error {
	m := "parse error: " + msg + " at offset " + strconv.Itoa(at)
	if at < len(body) {
		m += " (" + strconv.QuoteRune(rune(body[at])) + ")"
	}
	return &Error{Code: CodeParse, Message: m}
}

// batch scans the array at i, appending one Request per element while there
// are at most maxBatch (when maxBatch > 0); it returns the offset after the
// array and the number of elements.
func (s *scanner) batch(i int, reqs *[]Request, maxBatch int) (end, n int) {
	if !s.enter(i) {
		return -1, 0
	}
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == ']' {
		return i + 1, 0
	}
	for {
		n++
		switch {
		case maxBatch > 0 && n > maxBatch: // only validate and count the rest
			i = s.value(i)
		case i < len(s.b) && s.b[i] == '{':
			*reqs = append(*reqs, Request{})
			i = s.request(i, &(*reqs)[len(*reqs)-1])
		default:
			start := i
			if i = s.value(i); i >= 0 {
				*reqs = append(*reqs, Request{Raw: s.b[start:i], Err: errNotObject})
			}
		}
		if i < 0 {
			return -1, n
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return s.fail(i, "unterminated array"), n
		}
		switch s.b[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			s.depth--
			return i + 1, n
		default:
			return s.fail(i, "expected ',' or ']' in array"), n
		}
	}
}

// Members of a request, as bits for duplicate detection.
const (
	memberJSONRPC = 1 << iota
	memberMethod
	memberParams
	memberID
)

// request scans the object at i into r, checking the request rules.
func (s *scanner) request(i int, r *Request) int {
	start := i
	if !s.enter(i) {
		return -1
	}
	var seen uint8
	var bad *Error // first rule broken, reported after the whole object is read
	var idStart, idEnd = -1, -1
	var methodTok []byte
	var methodEsc bool
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		i++
		goto done
	}
	for {
		if i >= len(s.b) || s.b[i] != '"' {
			return s.fail(i, "expected a member name")
		}
		ks := i
		if i = s.str(i); i < 0 {
			return -1
		}
		member := memberOf(s.b[ks:i], s.esc)
		if member == memberSpelling {
			bad, member = firstErr(bad, errSpelling), 0
		}
		if i = s.colon(i); i < 0 {
			return -1
		}
		vs := i
		if i = s.value(i); i < 0 {
			return -1
		}
		if member != 0 {
			if seen&member != 0 {
				if bad == nil {
					bad = errDuplicate
				}
			} else {
				seen |= member
				v := s.b[vs:i]
				switch member {
				case memberJSONRPC:
					if v[0] != '"' || !equalString(v, s.esc, "2.0") {
						bad = firstErr(bad, errVersion)
					}
				case memberMethod:
					if v[0] != '"' || len(v) == 2 {
						bad = firstErr(bad, errMethod)
					} else {
						methodTok, methodEsc = v, s.esc
					}
				case memberParams:
					switch v[0] {
					case '[', '{':
						r.Params = v
					case 'n':
						// "params": null means no params; geth accepts it and
						// some client libraries send it.
					default:
						bad = firstErr(bad, errParams)
					}
				case memberID:
					switch v[0] {
					case '{', '[', 't', 'f':
						bad = firstErr(bad, errID)
					default:
						idStart, idEnd = vs-start, i-start
					}
				}
			}
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return s.fail(i, "unterminated object")
		}
		if s.b[i] == ',' {
			i = s.ws(i + 1)
			continue
		}
		if s.b[i] != '}' {
			return s.fail(i, "expected ',' or '}' in object")
		}
		i++
		break
	}
done:
	s.depth--
	r.Raw = s.b[start:i]
	if idStart >= 0 {
		r.ID, r.IDStart, r.IDEnd = r.Raw[idStart:idEnd], idStart, idEnd
	}
	switch {
	case bad != nil:
	case seen&memberJSONRPC == 0:
		bad = errVersion
	case seen&memberMethod == 0:
		bad = errMethod
	}
	if bad != nil {
		r.Err, r.Params = bad, nil
		return i
	}
	r.Method = methodName(methodTok, methodEsc)
	return i
}

func firstErr(have, e *Error) *Error {
	if have != nil {
		return have
	}
	return e
}

// memberSpelling marks a name that a lenient decoder would take for a
// request member but that is not spelled exactly so.
const memberSpelling = 0x80

// memberOf tells which request member the name token q (quotes included) is:
// 0 for another name, memberSpelling for a case or escape variant of one.
func memberOf(q []byte, esc bool) uint8 {
	if !esc {
		switch string(q) {
		case `"jsonrpc"`:
			return memberJSONRPC
		case `"method"`:
			return memberMethod
		case `"params"`:
			return memberParams
		case `"id"`:
			return memberID
		}
		// The longest fold of "jsonrpc" is 7 runes of up to 3 bytes each.
		if n := len(q) - 2; n < 2 || n > 21 {
			return 0
		}
		return foldVariant(q[1 : len(q)-1])
	}
	// An escape shortens a name at most sixfold.
	if n := len(q) - 2; n < 2 || n > 6*21 {
		return 0
	}
	var buf [6 * 21]byte
	if foldVariant(unquote(buf[:0], q)) != 0 {
		return memberSpelling
	}
	return 0
}

// foldVariant reports memberSpelling when name equals a member name under
// Unicode simple case folding.
func foldVariant(name []byte) uint8 {
	for _, m := range memberNames {
		if bytes.EqualFold(name, m) {
			return memberSpelling
		}
	}
	return 0
}

var memberNames = [...][]byte{[]byte("jsonrpc"), []byte("method"), []byte("params"), []byte("id")}

// methodName returns the method of the string token q: the interned name when
// known, else a copy.
func methodName(q []byte, esc bool) string {
	if !esc {
		if name, ok := LookupMethod(q[1 : len(q)-1]); ok {
			return name
		}
		return string(q[1 : len(q)-1])
	}
	b := unquote(nil, q)
	if name, ok := LookupMethod(b); ok {
		return name
	}
	return string(b)
}
