// viem over the webSocket transport: watchBlocks and watchContractEvent
// through rpcgate. Prints one JSON line per block and per event, and exits
// once it has `blocks` blocks and `events` events.
// usage: node viem_ws.mjs <ws url> <contract> <blocks> <events>
import { createPublicClient, webSocket, parseAbi } from 'viem';

const [url, address, wantBlocks, wantEvents] = process.argv.slice(2);
const client = createPublicClient({ transport: webSocket(url) });
const abi = parseAbi(['event Ping(uint256 n)']);
let blocks = 0, events = 0;
const done = () => { if (blocks >= +wantBlocks && events >= +wantEvents) process.exit(0); };
const fail = (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); };
client.watchBlocks({
  onBlock: (b) => { blocks++; console.log(JSON.stringify({ block: Number(b.number), hash: b.hash })); done(); },
  onError: fail,
});
client.watchContractEvent({
  address, abi, eventName: 'Ping',
  onLogs: (logs) => {
    for (const l of logs) { events++; console.log(JSON.stringify({ event: Number(l.args.n), removed: l.removed })); }
    done();
  },
  onError: fail,
});
setTimeout(() => fail('timeout'), 90000);
