/**
 * The ceiling that Express itself sets: Express 5 with express.json() answering 202, nothing else.
 * Run as its own process by the benchmark, like the intake it is compared with.
 */
import express from 'express';

const app = express();
app.use(express.json());
let n = 0;
app.post('/v1/leads', (_req, res) => {
  n += 1;
  res.status(202).json({ status: 'accepted', id: String(n) });
});
const port = Number(process.env.PORT ?? 0);
const server = app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
