/**
 * The naive peer (issue #17): the intake a team writes in a day. Express 5 + express.json() + ajv
 * on LeadRouter's own lead schema + one BullMQ `add`, and nothing else: no phone parsing, dedupe,
 * idempotency, rate limit or atomic store. Run as its own process by the benchmark, on the
 * benchmark's Redis, like the intake it is compared with.
 */
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { leadSchema } from '@leadrouter/lead';

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv, ['email', 'ipv4', 'ipv6']);
const validate = ajv.compile(leadSchema);
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queue = new Queue('naive-route', { connection, prefix: 'naive' });

const app = express();
app.use(express.json());
let n = 0;
app.post('/v1/leads', async (req, res) => {
  const body: unknown = req.body;
  if (!validate(body)) {
    res.status(400).json({ status: 'rejected', errors: validate.errors });
    return;
  }
  n += 1;
  const id = String(n);
  await queue.add('route', { id, lead: body }, { removeOnComplete: true });
  res.status(202).json({ status: 'accepted', id });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => void queue.close().then(() => process.exit(0))));
