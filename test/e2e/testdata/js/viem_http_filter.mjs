// viem's watchContractEvent over HTTP: filter-based polling
// (eth_newFilter + eth_getFilterChanges) through rpcgate. Prints one JSON
// line per event and exits after `events` events.
// usage: node viem_http_filter.mjs <http url> <contract> <events>
import { createPublicClient, http, parseAbi } from 'viem';

const [url, address, want] = process.argv.slice(2);
const client = createPublicClient({ transport: http(url), pollingInterval: 200 });
const abi = parseAbi(['event Ping(uint256 n)']);
let n = 0;
client.watchContractEvent({
  address, abi, eventName: 'Ping', poll: true,
  onLogs: (logs) => {
    for (const l of logs) { n++; console.log(JSON.stringify({ event: Number(l.args.n) })); }
    if (n >= +want) process.exit(0);
  },
  onError: (e) => console.log(JSON.stringify({ warn: String(e) })),
});
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(1); }, 90000);
