package evm

import (
	"math"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want uint64
		ok   bool
	}{
		{`"0x0"`, 0, true},
		{`"0x1"`, 1, true},
		{`"0x1b4"`, 0x1b4, true},
		{`"0x1B4"`, 0x1b4, true}, // digits in either case, as hexutil
		{`"0xffffffffffffffff"`, math.MaxUint64, true},
		{`"0x10000000000000000"`, 0, false}, // overflow
		{`"0x00"`, 0, false},                // leading zero
		{`"0x01"`, 0, false},
		{`"0X1"`, 0, false}, // uppercase prefix
		{`"0x"`, 0, false},
		{`"1b4"`, 0, false}, // missing 0x
		{`"436"`, 0, false},
		{`0x1b4`, 0, false}, // no quotes
		{`436`, 0, false},
		{`"0x1g"`, 0, false},
		{`"0x-1"`, 0, false},
		{`"0x 1"`, 0, false},
		{`"0x1`, 0, false},
		{`""`, 0, false},
		{``, 0, false},
		{`"latest"`, 0, false},
	}
	for _, tt := range tests {
		if got, ok := ParseQuantity([]byte(tt.raw)); got != tt.want || ok != tt.ok {
			t.Errorf("ParseQuantity(%s) = %d, %v; want %d, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAppendQuantity(t *testing.T) {
	t.Parallel()
	for v, want := range map[uint64]string{0: `"0x0"`, 1: `"0x1"`, 0x1b4: `"0x1b4"`, math.MaxUint64: `"0xffffffffffffffff"`} {
		got := AppendQuantity([]byte("x"), v)
		if string(got) != "x"+want {
			t.Errorf("AppendQuantity(%d) = %s", v, got)
		}
		if back, ok := ParseQuantity(got[1:]); !ok || back != v {
			t.Errorf("ParseQuantity(AppendQuantity(%d)) = %d, %v", v, back, ok)
		}
	}
}
