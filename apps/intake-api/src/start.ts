import type { Server } from 'node:http';
import { Queue } from 'bullmq';
import type { ResolvedConfig, ServiceEnv } from '@leadrouter/config';
import type { Logger } from '@leadrouter/logging';
import { createMetrics, type Metrics } from '@leadrouter/metrics';
import { createRedis, deliverQueueName, notifyQueueName, waitForRedis, QUEUES, QUEUE_OPTIONS, redisKeys, type RouteJobData } from '@leadrouter/redis';
import { boundPort, closeServer, listen, redisReadiness } from '@leadrouter/service';
import { DestinationState, LeadLifecycle, LeadStore, Sweeps } from '@leadrouter/store';
import { migrateLedger, openLedgerPool, type Ledger } from '@leadrouter/ledger';
import { createIntakeApp } from './app.js';
import { SupplierDirectory } from './auth.js';
import { OutcomeWaiter } from './outcome-waiter.js';
import { SupplierRateLimits } from './rate-limit.js';

export interface IntakeHandle {
  server: Server;
  port: number;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface StartIntakeOptions {
  /** The process's metrics; the all-in-one passes one registry to every role it runs. */
  metrics?: Metrics;
  env: ServiceEnv;
  config: ResolvedConfig;
  logger: Logger;
  /** Port to listen on; defaults to env.intakePort (0 picks a free one, for tests). */
  port?: number;
  /** How long to wait for Redis before listening anyway (default 3000 ms). */
  redisWaitMs?: number;
  /** The lead ledger (the all-in-one shares its embedded one); by default the one DATABASE_URL names, if any. */
  ledger?: Ledger;
}

/** Starts the intake API. It listens even while Redis is down: it answers 503 until Redis is back. */
export async function startIntake(options: StartIntakeOptions): Promise<IntakeHandle> {
  const { env, config, logger } = options;
  const keys = redisKeys(env.prefix, { ledger: env.ledger });
  const redis = createRedis(env.redisUrl, 'producer');
  // BullMQ's queues get a connection of their own: BullMQ defines its 64 scripts on the connection
  // it is given, and ioredis copies every script of a connection into each pipeline it builds,
  // which the store's and the rate limiter's auto-pipelined commands would pay on every lead.
  const queueRedis = createRedis(env.redisUrl, 'producer');
  const subscriber = createRedis(env.redisUrl, 'consumer');
  // Give the first connection a moment, so a freshly started intake does not answer 503 to the
  // first leads; if Redis stays down, listen anyway and answer 503 until it is back.
  if (!(await waitForRedis(redis, options.redisWaitMs ?? 3000))) logger.warn('Redis unreachable: answering 503 until it is back');
  const queue = new Queue<RouteJobData>(QUEUES.route, { connection: queueRedis, prefix: env.prefix, ...QUEUE_OPTIONS });
  queue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));
  const store = new LeadStore(redis, keys, config.retentionMs);
  const metrics = options.metrics ?? createMetrics();
  const ledger = options.ledger ?? (env.databaseUrl ? openMigratedLedger(env.databaseUrl, logger) : undefined);
  // Read by the queue board only (admin): every queue of the install.
  const boardQueues = [
    ...config.destinations.map((d) => deliverQueueName(d.id)),
    ...config.suppliers.filter((s) => s.postbackUrl).map((s) => notifyQueueName(s.id)),
  ].map((name) => new Queue(name, { connection: queueRedis, prefix: env.prefix, ...QUEUE_OPTIONS }));
  // Their connection errors are the intake's own (already answered with 503s): no second report.
  for (const q of boardQueues) q.on('error', () => undefined);
  const waiter = new OutcomeWaiter(subscriber, keys.finalChannel(), store);
  const app = createIntakeApp({
    config,
    store,
    queue,
    logger,
    metrics,
    suppliers: new SupplierDirectory(config.suppliers),
    rateLimits: new SupplierRateLimits(redis, keys.rateLimitPrefix(), config.suppliers),
    waiter,
    adminApiKey: env.adminApiKey,
    metricsToken: env.metricsToken,
    ledger,
    readiness: redisReadiness(redis, logger),
    admin: { lifecycle: new LeadLifecycle(redis, keys), destinationState: new DestinationState(redis, keys), sweeps: new Sweeps(redis, keys), queues: [queue, ...boardQueues], routeQueue: queue, ledger },
  });
  const server = await listen(app, env.host, options.port ?? env.intakePort, env.http);
  const ownedLedger = ledger !== undefined && options.ledger === undefined ? ledger : undefined;
  const port = boundPort(server);
  logger.info({ port, host: env.host }, 'intake listening');
  return {
    server,
    port,
    metrics,
    async close() {
      // Leads held by ?wait are stored and queued: answer them their plain 202 now, not a reset later.
      const closing = closeServer(server);
      waiter.releaseAll();
      await closing;
      await Promise.all([queue, ...boardQueues].map((q) => q.close().catch(() => undefined)));
      redis.disconnect();
      queueRedis.disconnect();
      subscriber.disconnect();
      await ownedLedger?.close();
    },
  };
}

/**
 * A role's own connection to the ledger DATABASE_URL names. Migrations run at start (contract §10),
 * but the intake does not wait for them or for PostgreSQL: with PostgreSQL down it takes leads as
 * ever, and only the ledger's reads answer 503 until it is back.
 */
function openMigratedLedger(databaseUrl: string, logger: Logger): Ledger {
  const ledger = openLedgerPool(databaseUrl);
  migrateLedger(ledger.db).catch((err: Error) => logger.warn({ err: err.message }, 'ledger migrations not run yet: PostgreSQL unreachable?'));
  return ledger;
}
