package jsonrpc

// ArrayElem returns the raw bytes of element n (from 0) of the JSON array
// arr, without copying. It validates only as far as element n, so it reports
// false for a malformed array or one with too few elements.
func ArrayElem(arr []byte, n int) ([]byte, bool) {
	s := scanner{b: arr}
	i := s.ws(0)
	if i >= len(arr) || arr[i] != '[' || n < 0 {
		return nil, false
	}
	s.depth = 1
	i = s.ws(i + 1)
	if i < len(arr) && arr[i] == ']' {
		return nil, false
	}
	for k := 0; ; k++ {
		start := i
		if i = s.value(i); i < 0 {
			return nil, false
		}
		if k == n {
			return arr[start:i], true
		}
		i = s.ws(i)
		if i >= len(arr) || arr[i] != ',' {
			return nil, false
		}
		i = s.ws(i + 1)
	}
}

// ObjectMember returns the raw value of the first member called key of the
// JSON object obj, without copying. Names are compared after unescaping.
func ObjectMember(obj []byte, key string) ([]byte, bool) {
	s := scanner{b: obj}
	i := s.ws(0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	s.depth = 1
	i = s.ws(i + 1)
	for i < len(obj) && obj[i] == '"' {
		ks := i
		if i = s.str(i); i < 0 {
			return nil, false
		}
		match := equalString(obj[ks:i], s.esc, key)
		if i = s.colon(i); i < 0 {
			return nil, false
		}
		vs := i
		if i = s.value(i); i < 0 {
			return nil, false
		}
		if match {
			return obj[vs:i], true
		}
		i = s.ws(i)
		if i >= len(obj) || obj[i] != ',' {
			return nil, false
		}
		i = s.ws(i + 1)
	}
	return nil, false
}

// Unquote returns the decoded contents of a JSON string token (quotes
// included), appended to dst; ok is false when tok is not a valid string.
func Unquote(dst, tok []byte) (out []byte, ok bool) {
	s := scanner{b: tok}
	if len(tok) == 0 || tok[0] != '"' || s.str(0) != len(tok) {
		return dst, false
	}
	return unquote(dst, tok), true
}
