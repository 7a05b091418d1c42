package jsonrpc

import "strconv"

// Response is one answer read from a node. Byte slices alias the node's body.
type Response struct {
	Raw            []byte // the object's exact bytes, trimmed of whitespace
	ID             []byte // raw JSON of the id; nil when absent
	IDStart, IDEnd int    // byte range of the id value inside Raw, valid when ID != nil
	Result         []byte // raw result (may be the literal null); nil when absent
	Err            *Error // the node's JSON-RPC error (Data raw); nil when absent or null
}

// MalformedError says a node's body is not a JSON-RPC response. It is a fault
// of the node, unlike an *Error, which is the node's well-formed answer.
type MalformedError struct {
	Offset int    // byte offset in the body where the problem was seen
	Reason string // static description
}

func (e *MalformedError) Error() string {
	return "jsonrpc: malformed response: " + e.Reason + " at offset " + strconv.Itoa(e.Offset)
}

// ScanResponse reads one response object: valid JSON, an object, with a
// "result" or a non-null "error" member. When both are present (which the
// spec forbids) both are kept and Err takes precedence for callers. An "error"
// must be an object with an integer "code"; "message" must be a string when
// present; "data" is kept raw. "jsonrpc" is not checked: nodes get it right,
// and the gateway answers with its own envelope anyway.
func ScanResponse(b []byte) (Response, error) {
	s := scanner{b: b}
	i := s.ws(0)
	if i >= len(b) || b[i] != '{' {
		if i < len(b) {
			if end := s.value(i); end >= 0 && s.ws(end) == len(b) {
				return Response{}, &MalformedError{i, "not an object"}
			}
		}
		return Response{}, s.malformed(i)
	}
	var r Response
	end := s.response(i, &r)
	if end < 0 {
		return Response{}, s.malformed(i)
	}
	if j := s.ws(end); j != len(b) {
		return Response{}, &MalformedError{j, "data after the JSON value"}
	}
	return r, nil
}

// ScanResponseBatch splits a node's batch answer (an array of responses) into
// dst[:0]; a single object is accepted as a batch of one. Any malformed
// element makes the whole body malformed: the caller matches answers to
// requests by id and treats missing ones as unanswered.
func ScanResponseBatch(b []byte, dst []Response) ([]Response, error) {
	s := scanner{b: b}
	out := dst[:0]
	i := s.ws(0)
	if i < len(b) && b[i] == '{' {
		r, err := ScanResponse(b)
		if err != nil {
			return dst[:0], err
		}
		return append(out, r), nil
	}
	if i >= len(b) || b[i] != '[' {
		return dst[:0], s.malformed(i)
	}
	s.depth = 1
	i = s.ws(i + 1)
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '{' {
				if i < len(b) && s.value(i) >= 0 {
					return dst[:0], &MalformedError{i, "batch element is not an object"}
				}
				return dst[:0], s.malformed(i)
			}
			out = append(out, Response{})
			if i = s.response(i, &out[len(out)-1]); i < 0 {
				return dst[:0], s.malformed(i)
			}
			i = s.ws(i)
			if i < len(b) && b[i] == ',' {
				i = s.ws(i + 1)
				continue
			}
			if i < len(b) && b[i] == ']' {
				i++
				break
			}
			return dst[:0], &MalformedError{i, "expected ',' or ']' in array"}
		}
	}
	if j := s.ws(i); j != len(b) {
		return dst[:0], &MalformedError{j, "data after the JSON value"}
	}
	return out, nil
}

func (s *scanner) malformed(at int) error {
	if s.errMsg != "" {
		return &MalformedError{s.errAt, s.errMsg}
	}
	if at >= len(s.b) {
		return &MalformedError{at, "unexpected end of input"}
	}
	return &MalformedError{at, "not an object"}
}

const (
	respID = 1 << iota
	respResult
	respError
)

// response scans the object at i into r. A broken rule is recorded as a
// scanner error, so it reports -1 like a syntax error.
func (s *scanner) response(i int, r *Response) int {
	start := i
	if !s.enter(i) {
		return -1
	}
	var seen uint8
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		return s.fail(i, "response has neither result nor error")
	}
	for {
		if i >= len(s.b) || s.b[i] != '"' {
			return s.fail(i, "expected a member name")
		}
		ks := i
		if i = s.str(i); i < 0 {
			return -1
		}
		var member uint8
		switch k := s.b[ks:i]; {
		case equalString(k, s.esc, "id"):
			member = respID
		case equalString(k, s.esc, "result"):
			member = respResult
		case equalString(k, s.esc, "error"):
			member = respError
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
				return s.fail(ks, "duplicate member")
			}
			seen |= member
			v := s.b[vs:i]
			switch member {
			case respID:
				r.ID, r.IDStart, r.IDEnd = v, vs-start, i-start
			case respResult:
				r.Result = v
			case respError:
				if v[0] == 'n' { // "error": null, as some nodes send beside a result
					seen &^= respError
					break
				}
				e, ok := s.errorObject(vs, v)
				if !ok {
					return -1
				}
				r.Err = e
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
	s.depth--
	if seen&(respResult|respError) == 0 {
		return s.fail(start, "response has neither result nor error")
	}
	r.Raw = s.b[start:i]
	if r.ID != nil {
		r.ID = r.Raw[r.IDStart:r.IDEnd]
	}
	return i
}

// errorObject reads an already validated "error" value v found at offset at.
func (s *scanner) errorObject(at int, v []byte) (*Error, bool) {
	if v[0] != '{' {
		s.fail(at, "error is not an object")
		return nil, false
	}
	e := &Error{}
	hasCode := false
	sub := scanner{b: v}
	i := sub.ws(1)
	for i < len(v) && v[i] == '"' {
		ks := i
		i = sub.str(i)
		k, kesc := v[ks:i], sub.esc
		i = sub.colon(i)
		vs := i
		i = sub.value(i)
		val, vesc := v[vs:i], sub.esc
		switch {
		case equalString(k, kesc, "code"):
			c, ok := parseInt(val)
			if !ok {
				s.fail(at+vs, "error code is not an integer")
				return nil, false
			}
			e.Code, hasCode = c, true
		case equalString(k, kesc, "message"):
			if val[0] != '"' {
				s.fail(at+vs, "error message is not a string")
				return nil, false
			}
			if vesc {
				e.Message = string(unquote(nil, val))
			} else {
				e.Message = string(val[1 : len(val)-1])
			}
		case equalString(k, kesc, "data"):
			e.Data = val
		}
		i = sub.ws(i)
		if v[i] == ',' {
			i = sub.ws(i + 1)
		}
	}
	if !hasCode {
		s.fail(at, "error has no code")
		return nil, false
	}
	return e, true
}

// parseInt parses a JSON integer that fits an int32-sized error code range
// loosely (any int); fractions and exponents are refused.
func parseInt(b []byte) (int, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
