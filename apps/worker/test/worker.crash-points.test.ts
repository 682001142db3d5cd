import { afterEach, describe, expect, test } from '@jest/globals';
import type { Job } from 'bullmq';
import { Queue } from 'bullmq';
import { parseConfigText, type ResolvedDestination } from '@leadrouter/config';
import { createMetrics } from '@leadrouter/metrics';
import { Notifier } from '@leadrouter/notify';
import { createRedis, deliverQueueName, queuePrefix, QUEUE_OPTIONS, redisKeys, type DeliverJobData, type RedisClient } from '@leadrouter/redis';
import { CapHolds, DestinationEffects, DestinationState, LeadLifecycle, NotificationOutbox, PingCircuits, Sweeps } from '@leadrouter/store';
import { captureLogger, startTestServer, testEnv, type TestServer } from '@leadrouter/testing';
import { startIntake } from '@leadrouter/app-intake-api';
import { createDeliverProcessor } from '../src/deliver-processor.js';
import type { WorkerDeps } from '../src/deps.js';
import { createRouteProcessor } from '../src/route-processor.js';
import { KEY, systemYaml, uniquePhone } from '@leadrouter/testing/system';

/** Thrown where a test stops a step as a crash (kill -9) would: after one Redis write, before the next. */
class InjectedCrash extends Error {}

/**
 * Crash points inside one delivery step, injected exactly: the step runs in this process against
 * the real test Redis and real buyers, and a chosen state call throws as if the worker died there.
 * Then the same job runs again, as BullMQ runs a stalled job after a crash.
 */
describe('a crash between recording a try and choosing the next destination', () => {
  const open: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of open.splice(0).reverse()) await close();
  });

  test('the re-run resumes the chain: the rejecting buyer gets the lead once, the next buyer buys it', async () => {
    const rejecting: TestServer = await startTestServer((_req, res) => res.writeHead(400).end('{"error":"no"}'));
    const accepting: TestServer = await startTestServer((_req, res) => res.writeHead(200).end('{}'));
    open.push(() => rejecting.close(), () => accepting.close());
    const yaml = systemYaml(`
destinations:
  - { id: first, url: "${rejecting.url}/", caps: { daily: 5 } }
  - { id: second, url: "${accepting.url}/", caps: { daily: 5 } }
routes:
  - { id: all, strategy: priority, destinations: [{ id: first }, { id: second }] }
`);
    const env = testEnv();
    const config = parseConfigText(yaml, {});
    const logger = captureLogger('crash-points', 'warn').logger;
    // The intake stores the lead and queues its route job; no worker runs: this test is the worker.
    const intake = await startIntake({ env, config, logger });
    open.push(() => intake.close());
    const res = await fetch(`http://127.0.0.1:${intake.port}/v1/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ name: 'Crash Point', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const redis: RedisClient = createRedis(env.redisUrl, 'consumer');
    const keys = redisKeys(env.prefix);
    const state = new LeadLifecycle(redis, keys);
    const destinations = new Map<string, ResolvedDestination>(config.destinations.map((d) => [d.id, d]));
    const deliverQueues = new Map(config.destinations.map((d) => [d.id, new Queue<DeliverJobData>(deliverQueueName(d.id), { connection: redis, prefix: queuePrefix(env.prefix, deliverQueueName(d.id)), ...QUEUE_OPTIONS })]));
    const notifier = new Notifier(redis, env.prefix, config.suppliers);
    open.push(async () => {
      await Promise.all([...deliverQueues.values()].map((q) => q.close()));
      await notifier.close();
      redis.disconnect();
    });
    let crashAtAdvance = false;
    // The state as the worker sees it, but ADVANCE "crashes" when armed: RECORD_ATTEMPT has run.
    const crashingState = new Proxy(state, {
      get(target, name, receiver) {
        if (name === 'advance' && crashAtAdvance) {
          return () => Promise.reject(new InjectedCrash('killed after recording the try'));
        }
        const value: unknown = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const deps: WorkerDeps = {
      config,
      destinations,
      lifecycle: crashingState,
      destinationState: new DestinationState(redis, keys),
      pingCircuits: new PingCircuits(redis, keys),
      sweeps: new Sweeps(redis, keys),
      capHolds: new CapHolds(redis, keys),
      destinationEffects: new DestinationEffects(redis, keys),
      deliverQueues,
      metrics: createMetrics(),
      notifier,
      notificationOutbox: new NotificationOutbox(redis, keys),
      logger,
      random: () => 0.5,
      now: () => new Date(),
    };
    await createRouteProcessor(deps)({ data: { leadId: id } } as Job<{ leadId: string }>);
    const job = { id: `${id}.0.0.0`, data: { leadId: id, index: 0, attempt: 0, round: 0 } } as Job<DeliverJobData>;
    const deliver = createDeliverProcessor(deps);

    crashAtAdvance = true;
    await expect(deliver(job)).rejects.toBeInstanceOf(InjectedCrash);
    expect(rejecting.requests).toHaveLength(1);
    expect(await new DestinationState(redis, keys).capUsed('first', { hourly: 'x', daily: new Date().toISOString().slice(0, 10) })).toMatchObject({ daily: 0 });

    crashAtAdvance = false;
    await deliver(job);
    // The re-run of the same job did not send the lead to the buyer that had said no.
    expect(rejecting.requests).toHaveLength(1);
    const next = await deliverQueues.get('second')!.getJob(`${id}.0.1.0`);
    expect(next?.data).toMatchObject({ leadId: id, index: 1, attempt: 0 });
    await deliver(next as Job<DeliverJobData>);
    expect(accepting.requests).toHaveLength(1);
    const loaded = await state.load(id);
    expect(loaded).toMatchObject({ status: 'delivered', destination: 'second' });
  });
});
