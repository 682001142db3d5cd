import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Queue } from 'bullmq';
import type { Express } from 'express';
import type { ResolvedConfig, ServiceEnv } from '@leadrouter/config';
import type { Logger } from '@leadrouter/logging';
import { createMetrics, type Metrics } from '@leadrouter/metrics';
import { createRedis, deliverQueueName, notifyQueueName, waitForRedis, QUEUES, QUEUE_OPTIONS, redisKeys, type RouteJobData, queuePrefix } from '@leadrouter/redis';
import { boundPort, closeServer, listen, LiveConfig, redisReadiness } from '@leadrouter/service';
import { DestinationState, LeadLifecycle, LeadStore, PingCircuits, SupplierPings, Sweeps } from '@leadrouter/store';
import { migrateLedger, openLedgerPool, type Ledger } from '@leadrouter/ledger';
import { createIntakeApp } from './app.js';
import { SupplierDirectory } from './auth.js';
import { ConsoleSessions } from './console/sessions.js';
import { supplierPingLimits } from './routes/pings.js';
import { consoleLoginLimiter } from './console/routes.js';
import { OutcomeWaiter } from './outcome-waiter.js';
import { SupplierRateLimits } from './rate-limit.js';

export interface IntakeHandle {
  /** Reads the config file again (SIGHUP): taken when valid, refused with its problems when not. */
  reload(): void;
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
  /** The live config (the all-in-one shares one among its roles); by default the intake keeps its own. */
  live?: LiveConfig;
  /** The config file, read again on a reload (contract §11); without one a reload is refused. */
  configFile?: string;
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
  const queue = new Queue<RouteJobData>(QUEUES.route, { connection: queueRedis, prefix: queuePrefix(env.prefix, QUEUES.route), ...QUEUE_OPTIONS });
  queue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));
  const metrics = options.metrics ?? createMetrics();
  const ledger = options.ledger ?? (env.databaseUrl ? openMigratedLedger(env.databaseUrl, logger) : undefined);
  const live = options.live ?? new LiveConfig({ redisUrl: env.redisUrl, keys, config, configFile: options.configFile, logger, metrics, role: 'intake' });
  if (!options.live) await live.start();
  // Read by the queue board and the admin view: every queue of the install, made once per name as
  // reloads add destinations and suppliers.
  const boardQueues = new Map<string, Queue>();
  const boardQueue = (name: string): Queue => {
    let q = boardQueues.get(name);
    if (!q) {
      q = new Queue(name, { connection: queueRedis, prefix: queuePrefix(env.prefix, name), ...QUEUE_OPTIONS });
      // Their connection errors are the intake's own (already answered with 503s): no second report.
      q.on('error', () => undefined);
      boardQueues.set(name, q);
    }
    return q;
  };
  const waiter = new OutcomeWaiter(subscriber, keys.finalChannel(), new LeadStore(redis, keys, config.retentionMs));
  const sessions = new ConsoleSessions(redis, keys, env.adminApiKey);
  const pings = new SupplierPings(redis, keys);
  // Once per process, in Redis: shared by every intake, and not reset when a reload rebuilds the app.
  const loginAttempts = consoleLoginLimiter(redis, keys.rateLimitPrefix());
  /** The app for one config: on a reload or an override a new one is built, and requests in flight finish on the old one. */
  const build = (running: ResolvedConfig): Express => {
    const store = new LeadStore(redis, keys, running.retentionMs);
    const deliverQueues = new Map(running.destinations.map((d) => [d.id, boardQueue(deliverQueueName(d.id))]));
    const notifyQueues = running.suppliers.filter((s) => s.postbackUrl).map((s) => boardQueue(notifyQueueName(s.id)));
    return createIntakeApp({
      config: running,
      store,
      queue,
      logger,
      metrics,
      suppliers: new SupplierDirectory(running.suppliers),
      rateLimits: new SupplierRateLimits(redis, keys.rateLimitPrefix(), running.suppliers),
      pingLimits: supplierPingLimits(redis, keys.rateLimitPrefix(), running.suppliers),
      pings,
      pingCircuits: new PingCircuits(redis, keys),
      waiter,
      adminApiKey: env.adminApiKey,
      metricsToken: env.metricsToken,
      ledger,
      readiness: redisReadiness(redis, logger),
      live,
      sessions,
      loginAttempts,
      admin: {
        lifecycle: new LeadLifecycle(redis, keys),
        destinationState: new DestinationState(redis, keys),
        sweeps: new Sweeps(redis, keys),
        queues: [queue, ...deliverQueues.values(), ...notifyQueues],
        routeQueue: queue,
        ledger,
        overrides: live.overridesById,
        fileEnabled: new Map(live.file.destinations.map((d) => [d.id, d.enabled])),
        deliverQueues,
      },
    });
  };
  let app = build(live.current);
  const stopFollowing = live.onChange((running) => {
    app = build(running);
  });
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    app(req, res);
  };
  const server = await listen(handler, env.host, options.port ?? env.intakePort, env.http);
  const ownedLedger = ledger !== undefined && options.ledger === undefined ? ledger : undefined;
  const port = boundPort(server);
  logger.info({ port, host: env.host }, 'intake listening');
  return {
    server,
    port,
    metrics,
    reload: () => {
      live.reloadFile('SIGHUP');
    },
    async close() {
      // Leads held by ?wait are stored and queued: answer them their plain 202 now, not a reset later.
      const closing = closeServer(server);
      waiter.releaseAll();
      await closing;
      stopFollowing();
      if (!options.live) await live.close();
      await Promise.all([queue, ...boardQueues.values()].map((q) => q.close().catch(() => undefined)));
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
