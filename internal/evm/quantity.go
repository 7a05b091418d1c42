// Package evm knows Ethereum's JSON-RPC methods: which part of the chain a
// call reads, which calls write, how hex quantities are spelled, and what a
// node's error means for routing. It never touches the network.
package evm

// ParseQuantity parses a JSON hex quantity, quotes included ("0x1b4"), without
// allocating. It is as strict as the spec and go-ethereum's hexutil: a
// lowercase "0x" prefix, at least one digit, no leading zero (but "0x0"),
// digits in either case, and a value that fits 64 bits.
func ParseQuantity(raw []byte) (uint64, bool) {
	if len(raw) < 5 || raw[0] != '"' || raw[len(raw)-1] != '"' || raw[1] != '0' || raw[2] != 'x' {
		return 0, false
	}
	digits := raw[3 : len(raw)-1]
	if len(digits) > 16 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	var v uint64
	for _, c := range digits {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

const hexDigits = "0123456789abcdef"

// AppendQuantity appends v as a JSON hex quantity, quotes included ("0x1b4").
func AppendQuantity(dst []byte, v uint64) []byte {
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = hexDigits[v&0xf]
		v >>= 4
		if v == 0 {
			break
		}
	}
	dst = append(dst, '"', '0', 'x')
	dst = append(dst, buf[i:]...)
	return append(dst, '"')
}
