package evm

import "strings"

// writes are the methods that change state or submit something, and so must
// never be sent twice:
//   - transaction submission: eth_sendRawTransaction, eth_sendTransaction,
//     eth_sendRawTransactionConditional (ERC-4337 bundlers),
//     eth_sendRawTransactionSync (EIP-7966), personal_sendTransaction,
//     personal_signAndSendTransaction (old geth);
//   - bundle and private-transaction relays (Flashbots-style builders run them
//     behind the same endpoint): eth_sendBundle, eth_sendPrivateTransaction,
//     eth_sendPrivateRawTransaction, eth_cancelPrivateTransaction,
//     eth_cancelBundle, mev_sendBundle. A resent bundle is usually deduplicated
//     by the relay, but not by contract;
//   - mining: eth_submitWork, eth_submitHashrate;
//   - account creation on the node: personal_newAccount, personal_importRawKey.
var writes = map[string]struct{}{
	"eth_sendRawTransaction":            {},
	"eth_sendTransaction":               {},
	"eth_sendRawTransactionConditional": {},
	"eth_sendRawTransactionSync":        {},
	"personal_sendTransaction":          {},
	"personal_signAndSendTransaction":   {},
	"eth_sendBundle":                    {},
	"eth_sendPrivateTransaction":        {},
	"eth_sendPrivateRawTransaction":     {},
	"eth_cancelPrivateTransaction":      {},
	"eth_cancelBundle":                  {},
	"mev_sendBundle":                    {},
	"eth_submitWork":                    {},
	"eth_submitHashrate":                {},
	"personal_newAccount":               {},
	"personal_importRawKey":             {},
}

// IsWrite reports a method that changes state and must never be sent twice.
// Besides the list above, every method of the development-chain namespaces
// anvil_, hardhat_ and evm_ counts (evm_mine, anvil_setBalance...): they
// mutate the one node they reach, and the read-only ones among them are not
// worth a retry either.
func IsWrite(method string) bool {
	if _, ok := writes[method]; ok {
		return true
	}
	return strings.HasPrefix(method, "anvil_") || strings.HasPrefix(method, "hardhat_") || strings.HasPrefix(method, "evm_")
}
