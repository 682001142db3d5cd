/** A local destination that accepts every lead at once: the other end of the end-to-end benchmark. */
import { createServer } from 'node:http';

let accepted = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    accepted += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"success"}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`accepted ${accepted}\n`);
  server.close(() => process.exit(0));
});
