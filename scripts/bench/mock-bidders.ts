/**
 * Five local bidders for the auction benchmark (issue #15): `/b<i>/ping` answers a bid after 20 to
 * 50 ms (as a real bidder's quick lookup), `/b<i>/post` takes the lead at once. One process, one
 * port; prints `listening <port>`, and on SIGTERM how many pings and posts it answered.
 */
import { createServer } from 'node:http';

let pings = 0;
let posts = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const url = req.url ?? '';
    if (url.endsWith('/ping')) {
      pings += 1;
      const bidder = Number(/^\/b(\d+)\//.exec(url)?.[1] ?? 0);
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', price: 5 + bidder + Math.round(Math.random() * 100) / 100 })), 20 + Math.random() * 30);
      return;
    }
    posts += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"sold"}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`pings ${pings} posts ${posts}\n`);
  server.close(() => process.exit(0));
});
