import { afterAll, describe, expect, test } from '@jest/globals';
import { Queue } from 'bullmq';
import { parseConfigText } from '@leadrouter/config';
import { DELIVER_JOB_OPTIONS, deliverJobId, deliverQueueName, QUEUE_OPTIONS, QUEUES, redisKeys, ROUTE_JOB_OPTIONS, routeJobId, queuePrefix } from '@leadrouter/redis';
import { testRedisClient, waitFor } from '@leadrouter/testing';
import { startWorker } from '../src/start.js';
import { acceptAll, ADMIN, closedAfterEach, systemYaml } from '@leadrouter/testing/system';

/**
 * A job that failed for good (its processor threw on every attempt) must not leave its lead queued
 * for ever: once the fault is gone, the worker's housekeeping gives the job another set of attempts.
 */
describe('jobs that failed for good', () => {
  const { server, system } = closedAfterEach();
  /** A config with one destination, `buyer`, and one route to it. */
  const oneBuyer = (url: string, options = ''): string =>
    systemYaml(`
destinations:
  - { id: buyer, url: "${url}/"${options} }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`);
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());

  test('a route job that failed on every attempt is retried once its lead can be routed, and the lead is sold once', async () => {
    const buyer = await server(acceptAll);
    const yaml = oneBuyer(buyer.url);
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
    const routeQueue = new Queue(QUEUES.route, { connection: queueConnection, prefix: queuePrefix(sys.env.prefix, QUEUES.route), ...QUEUE_OPTIONS });
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
      await worker.afterHousekeepingRounds(4);
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

  test('a delivery job of an earlier round, run again after an admin redelivery, never offers the lead a second time', async () => {
    // Round 0: the buyer rejects. Round 1 (after the redelivery): it takes 1.5 s to accept, and
    // while round 1's try is in flight a round-0 delivery job runs (one that had failed or stalled
    // and is now revived). Its step numbers mean nothing in the new plan: it must send nothing.
    let round = 0;
    const buyer = await server((_req, res) => {
      if (round === 0) res.writeHead(400).end('{"result":"rejected"}');
      else setTimeout(() => res.writeHead(200).end('{}'), 1500);
    });
    const yaml = oneBuyer(buyer.url, ', retry: { attempts: 3, backoffMs: 20 }');
    const sys = await system(yaml);
    const id = (await sys.post()).body.id as string;
    expect((await sys.final(id)).status).toBe('unsold');
    expect(buyer.requests).toHaveLength(1);

    round = 1;
    const redelivered = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/${id}/redeliver`, { method: 'POST', headers: { 'x-api-key': ADMIN } });
    expect(redelivered.status).toBe(202);
    await waitFor(() => (buyer.requests.length === 2 ? true : undefined), 10_000, "round 1's try");

    const queueConnection = redis.duplicate();
    const deliverQueue = new Queue(deliverQueueName('buyer'), { connection: queueConnection, prefix: queuePrefix(sys.env.prefix, deliverQueueName('buyer')), ...QUEUE_OPTIONS });
    try {
      // Round 0's retry of its first try, which never ran then.
      await deliverQueue.add('deliver', { leadId: id, index: 0, attempt: 1, round: 0 }, { ...DELIVER_JOB_OPTIONS, jobId: deliverJobId(id, 0, 0, 1) });
      await waitFor(() => sys.logs.lines.find((l) => l.includes('delivery job of an earlier round: skipped') && l.includes(id)), 5_000, 'the stale job to be skipped');
      const lead = await sys.final(id, 10_000);
      expect(lead.status).toBe('delivered');
      // Round 0's rejected try and round 1's sale: nothing from the stale job.
      expect(buyer.requests).toHaveLength(2);
    } finally {
      await deliverQueue.close();
      queueConnection.disconnect();
    }
  }, 30_000);

  test('a failed job whose lead has ended is left for an operator (logged once), and removed once the lead has expired', async () => {
    const buyer = await server(acceptAll);
    const sys = await system(oneBuyer(buyer.url), { worker: { housekeepingIntervalMs: 100, retryFailedAfterMs: 100 } });
    const id = (await sys.post()).body.id as string;
    expect((await sys.final(id)).status).toBe('delivered');

    // A delivery job of this sold lead fails for good: its one attempt throws, since the lead's
    // fields cannot be read. (Such a job may have failed while notifying the supplier of the sale.)
    const keys = redisKeys(sys.env.prefix);
    const fields = (await redis.get(keys.leadData(id))) as string;
    await redis.set(keys.leadData(id), '{not json');
    const queueConnection = redis.duplicate();
    const deliverQueue = new Queue(deliverQueueName('buyer'), { connection: queueConnection, prefix: queuePrefix(sys.env.prefix, deliverQueueName('buyer')), ...QUEUE_OPTIONS });
    try {
      const jobId = deliverJobId(id, 0, 0, 7);
      await deliverQueue.add('deliver', { leadId: id, index: 0, attempt: 7, round: 0 }, { ...DELIVER_JOB_OPTIONS, attempts: 1, jobId });
      const failedLine = await waitFor(() => sys.logs.lines.find((l) => l.includes('"job failed"') && l.includes(jobId)), 10_000, 'the job to fail');
      // The parse error's message would quote the lead's stored text (its PII, in real data): withheld.
      expect(failedLine).toContain('SyntaxError (message withheld');
      expect(failedLine).not.toContain('not json');
      await redis.set(keys.leadData(id), fields);
      const leftLog = (): string[] => sys.logs.lines.filter((l) => l.includes('after its lead ended') && l.includes(jobId));
      await waitFor(() => (leftLog().length > 0 ? true : undefined), 5_000, 'the job to be left for an operator');
      // Many rounds later: still failed, not revived, logged once, nothing sent again.
      await sys.workers[0]!.afterHousekeepingRounds(5);
      expect(await deliverQueue.getJobState(jobId)).toBe('failed');
      expect(leftLog()).toHaveLength(1);
      expect(sys.logs.lines.filter((l) => l.includes('retrying it'))).toHaveLength(0);
      expect(buyer.requests).toHaveLength(1);

      // The lead's records expire: the job has nothing left to do and is removed.
      await redis.del(keys.lead(id), keys.leadData(id), keys.leadEvents(id));
      await waitFor(async () => ((await deliverQueue.getJob(jobId)) === undefined ? true : undefined), 5_000, 'the failed job to be removed');
    } finally {
      await deliverQueue.close();
      queueConnection.disconnect();
    }
  }, 30_000);
});
