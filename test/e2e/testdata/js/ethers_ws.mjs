// ethers 6 WebSocketProvider on("block") through rpcgate. Prints one JSON
// line per block and exits after `blocks` blocks.
// usage: node ethers_ws.mjs <ws url> <blocks>
import { WebSocketProvider } from 'ethers';

const [url, want] = process.argv.slice(2);
const provider = new WebSocketProvider(url);
let n = 0;
provider.on('block', (num) => {
  n++;
  console.log(JSON.stringify({ block: num }));
  if (n >= +want) { provider.destroy(); process.exit(0); }
});
provider.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(1); }, 90000);
