import type { Server } from 'node:http';
import { Queue, Worker } from 'bullmq';
import express from 'express';
import type { ResolvedConfig, ResolvedDestination, ServiceEnv } from '@leadrouter/config';
import { loggableError, type Logger } from '@leadrouter/logging';
import { createMetrics, type Metrics } from '@leadrouter/metrics';
import { createRedis, deliverQueueName, notifyQueueName, QUEUES, QUEUE_OPTIONS, type NotifyJobData, redisKeys, type DeliverJobData, type RouteJobData, queuePrefix } from '@leadrouter/redis';
import { boundPort, closeServer, healthRoutes, httpMetrics, listen, LiveConfig, redisReadiness } from '@leadrouter/service';
import { Notifier, type NotifierOptions } from '@leadrouter/notify';
import { CapHolds, DestinationEffects, DestinationState, LeadLifecycle, NotificationOutbox, PingCircuits, Sweeps } from '@leadrouter/store';
import { demoBuyerRoutes } from './demo-buyer.js';
import { createDeliverProcessor } from './deliver-processor.js';
import type { WorkerDeps } from './deps.js';
import { startHousekeeping } from './housekeeping.js';
import { createNotifyProcessor } from './notify-processor.js';
import { createRouteProcessor } from './route-processor.js';

export interface WorkerHandle {
  /** Reads the config file again (SIGHUP): taken when valid, refused with its problems when not. */
  reload(): void;
  server: Server;
  port: number;
  metrics: Metrics;
  /** Resolves once this worker's housekeeping has run `count` more rounds (see housekeeping.ts). */
  afterHousekeepingRounds(count: number): Promise<void>;
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  /** The process's metrics; the all-in-one passes one registry to every role it runs. */
  metrics?: Metrics;
  env: ServiceEnv;
  config: ResolvedConfig;
  logger: Logger;
  port?: number;
  /** How often BullMQ looks for jobs of crashed workers (ms); lower in fault tests. */
  stalledIntervalMs?: number;
  /** How often gauges are refreshed and the outbox swept (ms, default 5000). */
  housekeepingIntervalMs?: number;
  /** How long a route or delivery job stays failed for good before it is retried (ms, default 60000). */
  retryFailedAfterMs?: number;
  /** How old a postback's notification left in the outbox is before this worker queues it (ms, default 10000). */
  owedNotificationAfterMs?: number;
  /** Retry schedule of supplier notifications (tests shorten it). */
  notifier?: NotifierOptions;
  /** Injected randomness (weighted draws, jitter) for deterministic tests. */
  random?: () => number;
  /** The live config (the all-in-one shares one among its roles); by default the worker keeps its own. */
  live?: LiveConfig;
  /** The config file, read again on a reload (contract §11). */
  configFile?: string;
}

/**
 * A worker process: one BullMQ Worker on the `route` queue, and one per destination on its own
 * delivery queue with the destination's `concurrency`, so a destination that hangs only ever
 * occupies its own slots (README, "Architecture"). Any number of these processes may run.
 */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  const { env, config, logger } = options;
  const keys = redisKeys(env.prefix, { ledger: env.ledger });
  const redis = createRedis(env.redisUrl, 'consumer');
  // The lead state gets a connection apart from BullMQ's: BullMQ defines its 64 scripts on the
  // connection it is given, and ioredis copies every script of a connection into each pipeline it
  // builds (two per lead here), which showed as 4 % of the CPU of a busy process. Auto-pipelined:
  // the steps of many leads issued in one tick go out in one write (socket writes were 12 % of a
  // busy all-in-one's CPU, half of them one per command); it sends no blocking command, which
  // would hold the ones after it.
  const stateRedis = createRedis(env.redisUrl, 'consumer', { enableAutoPipelining: true });
  const metrics = options.metrics ?? createMetrics();
  const live = options.live ?? new LiveConfig({ redisUrl: env.redisUrl, keys, config, configFile: options.configFile, logger, metrics, role: 'worker' });
  if (!options.live) await live.start();
  const running = live.current;
  // Each queue under its own hash tag (queuePrefix), on the one BullMQ connection.
  const on = (queue: string): { connection: typeof redis; prefix: string } => ({ connection: redis, prefix: queuePrefix(env.prefix, queue) });
  const deliverQueues = new Map<string, Queue<DeliverJobData>>();
  const routeQueue = new Queue<RouteJobData>(QUEUES.route, { ...on(QUEUES.route), ...QUEUE_OPTIONS });
  const notifier = new Notifier(redis, env.prefix, running.suppliers, options.notifier);
  const now = (): Date => new Date();
  const clock = (): number => now().getTime();
  const deps: WorkerDeps = {
    config: running,
    destinations: new Map<string, ResolvedDestination>(running.destinations.map((d) => [d.id, d])),
    lifecycle: new LeadLifecycle(stateRedis, keys, clock),
    destinationState: new DestinationState(stateRedis, keys, clock),
    pingCircuits: new PingCircuits(stateRedis, keys, clock),
    sweeps: new Sweeps(stateRedis, keys, clock),
    capHolds: new CapHolds(stateRedis, keys, clock),
    destinationEffects: new DestinationEffects(stateRedis, keys, clock),
    deliverQueues,
    metrics,
    notifier,
    notificationOutbox: new NotificationOutbox(stateRedis, keys),
    logger,
    random: options.random ?? Math.random,
    now,
  };
  const stalledInterval = options.stalledIntervalMs ?? 5_000;
  const workers: Worker[] = [
    new Worker<RouteJobData>(QUEUES.route, createRouteProcessor(deps), {
      ...on(QUEUES.route),
      concurrency: 50,
      lockDuration: 15_000,
      stalledInterval,
      maxStalledCount: 10,
    }),
  ];
  const deliverWorkers = new Map<string, Worker<DeliverJobData>>();
  const notifyWorkers = new Set<string>();
  const watch = (worker: Worker): void => {
    worker.on('error', (err) => logger.warn({ queue: worker.name, err: err.message }, 'worker error'));
    worker.on('failed', (job, err) => {
      // A notification try that failed is expected (trackers go down) and retried; say so quietly.
      const level = worker.name.startsWith('notify-') && job && job.attemptsMade < (job.opts.attempts ?? 1) ? 'info' : 'error';
      logger[level]({ queue: worker.name, jobId: job?.id, err: loggableError(err) }, 'job failed');
    });
  };
  const deliverQueue = (id: string): Queue<DeliverJobData> => {
    let queue = deliverQueues.get(id);
    if (!queue) {
      queue = new Queue<DeliverJobData>(deliverQueueName(id), { ...on(deliverQueueName(id)), ...QUEUE_OPTIONS });
      queue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));
      deliverQueues.set(id, queue);
    }
    return queue;
  };
  const startDeliverWorker = (id: string, concurrency: number, lockDuration: number): void => {
    const worker = new Worker<DeliverJobData>(deliverQueueName(id), createDeliverProcessor(deps), { ...on(deliverQueueName(id)), concurrency, lockDuration, stalledInterval, maxStalledCount: 10 });
    watch(worker);
    deliverWorkers.set(id, worker);
    workers.push(worker);
  };
  /**
   * Gives each destination of the running config its queue and worker, and each supplier with a
   * postbackUrl its notification worker; called at start and after every reload or override. A
   * destination a reload removed keeps its queue and worker here, so the jobs already on it are
   * taken and skip it (deliver-processor.ts); a process started later drains it too (below).
   */
  const applyTopology = (cfg: typeof running): void => {
    for (const d of cfg.destinations) {
      const queue = deliverQueue(d.id);
      const existing = deliverWorkers.get(d.id);
      // Written when it is new or changed, not on every override of some other field.
      if (existing?.concurrency === d.concurrency) continue;
      // A destination's `concurrency` bounds its requests in flight across all worker processes.
      queue.setGlobalConcurrency(d.concurrency).catch((err: Error) => logger.warn({ destination: d.id, err: err.message }, 'could not set the global concurrency'));
      if (existing) {
        existing.concurrency = d.concurrency;
        continue;
      }
      // Longer than any delivery can take, so a live worker's job is never taken for stalled.
      startDeliverWorker(d.id, d.concurrency, d.timeoutMs + 10_000);
    }
    // One queue per supplier with a postbackUrl: a tracker that is down only delays its own supplier.
    for (const supplier of cfg.suppliers) {
      if (!supplier.postbackUrl || notifyWorkers.has(supplier.id)) continue;
      const worker = new Worker<NotifyJobData>(notifyQueueName(supplier.id), createNotifyProcessor(deps), { ...on(notifyQueueName(supplier.id)), concurrency: 10, lockDuration: 30_000, stalledInterval });
      watch(worker);
      notifyWorkers.add(supplier.id);
      workers.push(worker);
    }
  };
  /**
   * Delivery queues of destinations the running config no longer has (a reload removed them, or
   * this process started on a file without them) may still hold jobs: their leads would wait for
   * ever. Every destination that ever had a queue is in a set (never emptied: a process still on
   * an older config may queue a retry there at any time, and the set is tiny); a queue of one that
   * is gone, when it has jobs, gets a worker here, whose jobs skip it (deliver-processor.ts).
   */
  let draining = false;
  let closing = false;
  const drainRemovedQueues = async (): Promise<void> => {
    // One pass at a time (a pass waits while Redis is down), and none once closing.
    if (draining || closing) return;
    draining = true;
    try {
      await drainPass();
    } finally {
      draining = false;
    }
  };
  const drainPass = async (): Promise<void> => {
    const known = new Set(deps.config.destinations.map((d) => d.id));
    if (known.size > 0) await stateRedis.sadd(keys.destinationQueues(), ...known);
    for (const id of await stateRedis.smembers(keys.destinationQueues())) {
      if (known.has(id)) continue;
      if (deliverWorkers.has(id)) continue;
      const counts = await deliverQueue(id).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'waiting-children');
      const left = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (left === 0 || closing) continue;
      logger.info({ destination: id, jobs: left }, 'draining the delivery queue of a destination the config no longer has');
      // Its jobs send nothing while the destination is gone: a few at a time. Locked as long as the
      // longest delivery may take, in case a reload brings the destination back to this worker.
      startDeliverWorker(id, 5, 310_000);
    }
  };
  const drainEvery = options.housekeepingIntervalMs === undefined ? 30_000 : Math.max(1_000, options.housekeepingIntervalMs * 5);
  const drainTimer = setInterval(() => {
    drainRemovedQueues().catch((err: Error) => logger.warn({ err: err.message }, 'removed destinations’ queues not checked'));
  }, drainEvery);
  drainTimer.unref();

  watch(workers[0] as Worker);
  applyTopology(running);
  // Not awaited: with Redis down the worker still starts (and serves /healthz); this runs once Redis is there.
  drainRemovedQueues().catch((err: Error) => logger.warn({ err: err.message }, 'removed destinations’ queues not checked'));
  const stopFollowing = live.onChange((cfg, previous) => {
    // Jobs in hand keep the destination object they took; the next job reads the new one.
    deps.config = cfg;
    deps.destinations = new Map(cfg.destinations.map((d) => [d.id, d]));
    notifier.setSuppliers(cfg.suppliers);
    applyTopology(cfg);
    // Only a change of which destinations exist (a reload) can leave a queue without its worker;
    // a pause or a cap override cannot.
    const ids = (c: ResolvedConfig): string => c.destinations.map((d) => d.id).sort().join('\n');
    if (ids(cfg) !== ids(previous)) drainRemovedQueues().catch((err: Error) => logger.warn({ err: err.message }, 'removed destinations’ queues not checked'));
  });
  routeQueue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));
  const housekeeping = startHousekeeping(deps, routeQueue, {
    ...(options.housekeepingIntervalMs === undefined ? {} : { everyMs: options.housekeepingIntervalMs }),
    ...(options.retryFailedAfterMs === undefined ? {} : { retryFailedAfterMs: options.retryFailedAfterMs }),
    ...(options.owedNotificationAfterMs === undefined ? {} : { owedNotificationAfterMs: options.owedNotificationAfterMs }),
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics(metrics, 'worker'));
  app.use(healthRoutes(metrics.registry, redisReadiness(redis, logger), env.metricsToken));
  app.use(demoBuyerRoutes());
  const server = await listen(app, env.host, options.port ?? env.workerPort, env.http);
  const port = boundPort(server);
  logger.info({ port, destinations: running.destinations.length, configHash: live.hash }, 'worker running');
  return {
    server,
    port,
    metrics,
    afterHousekeepingRounds: (count) => housekeeping.afterRounds(count),
    reload: () => {
      live.reloadFile('SIGHUP');
    },
    async close() {
      closing = true;
      stopFollowing();
      clearInterval(drainTimer);
      housekeeping.stop();
      // Finishes the deliveries in hand (each bounded by its timeout) and takes no new ones.
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([routeQueue, ...deliverQueues.values()].map((q) => q.close()));
      await notifier.close();
      if (!options.live) await live.close();
      await closeServer(server);
      redis.disconnect();
      stateRedis.disconnect();
    },
  };
}
