import { afterAll, describe, expect, test } from '@jest/globals';
import { Queue } from 'bullmq';
import { parseConfigText } from '@leadrouter/config';
import { QUEUE_OPTIONS, QUEUES, redisKeys, ROUTE_JOB_OPTIONS, routeJobId } from '@leadrouter/redis';
import { testRedisClient, waitFor } from '@leadrouter/testing';
import { startWorker } from '../src/start.js';
import { acceptAll, closedAfterEach, systemYaml } from './helpers.js';

/**
 * A job that failed for good (its processor threw on every attempt) must not leave its lead queued
 * for ever: once the fault is gone, the worker's housekeeping gives the job another set of attempts.
 */
describe('jobs that failed for good', () => {
  const { server, system } = closedAfterEach();
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());

  test('a route job that failed on every attempt is retried once its lead can be routed, and the lead is sold once', async () => {
    const buyer = await server(acceptAll);
    const yaml = systemYaml(`
destinations:
  - { id: buyer, url: "${buyer.url}/" }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`);
    // The intake alone first: the lead is stored and its route job waits for a worker.
    const sys = await system(yaml, { workers: 0 });
    const res = await sys.post();
    expect(res.status).toBe(202);
    const id = res.body.id as string;

    // The fault: the lead's fields cannot be read, so routing throws. Its route job gets a single
    // attempt, so that it fails for good at once (in production, after all of BullMQ's attempts).
    const keys = redisKeys(sys.env.prefix);
    const fields = (await redis.get(keys.leadData(id))) as string;
    await redis.set(keys.leadData(id), '{not json');
    // A queue closes only connections it made itself, so the test closes this one.
    const queueConnection = redis.duplicate();
    const routeQueue = new Queue(QUEUES.route, { connection: queueConnection, prefix: sys.env.prefix, ...QUEUE_OPTIONS });
    await routeQueue.remove(routeJobId(id, 0));
    await routeQueue.add('route', { leadId: id }, { ...ROUTE_JOB_OPTIONS, attempts: 1, jobId: routeJobId(id, 0) });

    const worker = await startWorker({
      env: sys.env,
      config: parseConfigText(yaml, {}),
      logger: sys.logs.logger,
      housekeepingIntervalMs: 100,
      retryFailedAfterMs: 2_000,
    });
    try {
      await waitFor(async () => ((await routeQueue.getFailedCount()) === 1 ? true : undefined), 10_000, 'the route job to fail');
      // Failed for good, and still queued: the lead has not been lost or ended. Several
      // housekeeping rounds pass, but the job is not retried before it has been failed for 2 s.
      await new Promise((r) => setTimeout(r, 500));
      expect(await redis.hget(keys.lead(id), 'status')).toBe('queued');
      expect(await routeQueue.getFailedCount()).toBe(1);
      expect(buyer.requests).toHaveLength(0);

      // The fault clears; the round after the 2 s retries the job, once, and the lead is sold, once.
      await redis.set(keys.leadData(id), fields);
      const lead = await sys.final(id, 10_000);
      expect(lead.status).toBe('delivered');
      expect(buyer.requests).toHaveLength(1);
      expect(await routeQueue.getFailedCount()).toBe(0);
      const retryLog = sys.logs.lines.map((l) => JSON.parse(l) as { msg?: string; leadId?: string }).filter((l) => l.msg === 'job had failed for good with its lead still queued: retrying it');
      expect(retryLog.map((l) => l.leadId)).toEqual([id]);
    } finally {
      await worker.close();
      await routeQueue.close();
      queueConnection.disconnect();
    }
  }, 30_000);
});
