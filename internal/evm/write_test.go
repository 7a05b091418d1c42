package evm

import "testing"

func TestIsWrite(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"eth_sendRawTransaction":            true,
		"eth_sendTransaction":               true,
		"eth_sendRawTransactionConditional": true,
		"eth_sendRawTransactionSync":        true,
		"eth_sendBundle":                    true,
		"mev_sendBundle":                    true,
		"eth_sendPrivateTransaction":        true,
		"personal_sendTransaction":          true,
		"eth_submitWork":                    true,
		"eth_submitHashrate":                true,
		"evm_mine":                          true,
		"anvil_setBalance":                  true,
		"hardhat_mine":                      true,
		"eth_call":                          false,
		"eth_callBundle":                    false, // a simulation
		"eth_estimateGas":                   false,
		"eth_getTransactionCount":           false,
		"eth_sign":                          false,
		"eth_newFilter":                     false,
		"eth_sendrawtransaction":            false, // names are case-sensitive, as on the nodes
		"":                                  false,
	} {
		if got := IsWrite(name); got != want {
			t.Errorf("IsWrite(%q) = %v, want %v", name, got, want)
		}
	}
}
