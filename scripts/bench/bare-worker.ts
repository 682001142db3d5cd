/**
 * The end-to-end ceiling: a bare BullMQ worker whose job is one got POST to the mock buyer.
 * Prints the jobs per second it drained. Env: REDIS_URL, BUYER_URL, JOBS, CONCURRENCY.
 */
import { Queue, Worker } from 'bullmq';
import got from 'got';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL as string, { maxRetriesPerRequest: null });
const jobs = Number(process.env.JOBS ?? 20000);
const queue = new Queue('bare', { connection, prefix: 'bare' });
for (let i = 0; i < jobs; i += 1000) {
  await queue.addBulk(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ name: 'j', data: { n: i + k }, opts: { removeOnComplete: true } })));
}
let done = 0;
const started = performance.now();
const finished = new Promise<void>((resolve) => {
  const worker = new Worker(
    'bare',
    async (job) => {
      await got.post(process.env.BUYER_URL as string, { json: { n: job.data.n }, timeout: { request: 5000 }, retry: { limit: 0 } });
    },
    { connection, prefix: 'bare', concurrency: Number(process.env.CONCURRENCY ?? 50) },
  );
  worker.on('completed', () => {
    done += 1;
    if (done === jobs) void worker.close().then(() => resolve());
  });
});
await finished;
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ jobs, seconds, perSecond: jobs / seconds })}\n`);
await queue.obliterate({ force: true });
await queue.close();
connection.disconnect();
