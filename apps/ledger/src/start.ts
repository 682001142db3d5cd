import { hostname } from 'node:os';
import type { Server } from 'node:http';
import express from 'express';
import type { ResolvedConfig, ServiceEnv } from '@leadrouter/config';
import { migrateLedger, openLedger, LedgerWriter, type Ledger } from '@leadrouter/ledger';
import type { Logger } from '@leadrouter/logging';
import { createMetrics, type Metrics } from '@leadrouter/metrics';
import { createRedis, redisKeys } from '@leadrouter/redis';
import { LeadCompaction } from '@leadrouter/store';
import { boundPort, closeServer, healthRoutes, httpMetrics, listen, LiveConfig, redisReadiness } from '@leadrouter/service';

export interface LedgerHandle {
  server: Server | undefined;
  port: number;
  metrics: Metrics;
  writer: LedgerWriter;
  /** Reads the config file again (SIGHUP; contract §11): the retention settings follow. */
  reload(): void;
  close(): Promise<void>;
}

export interface StartLedgerOptions {
  env: ServiceEnv;
  /** `ledger.retentionDays` and `ledger.piiDays` of the config: the writer runs the retention job. */
  retention?: ResolvedConfig['ledger'];
  logger: Logger;
  /** The ledger to write to; by default the one DATABASE_URL names (opened and migrated here). */
  ledger?: Ledger;
  metrics?: Metrics;
  port?: number;
  /** This writer's name in the consumer group; unique per process by default. */
  consumer?: string;
  /** Overrides LEDGER_COMPACT_AFTER_MS (tests: 0, compact at once). */
  compactAfterMs?: number;
  /** Serve /healthz, /readyz and /metrics on LEDGER_PORT (default true; the all-in-one's other ports serve its registry). */
  serve?: boolean;
  /**
   * The process's config and its file: the writer then follows reloads (its retention, and
   * leadrouter_config_info). Without them (the all-in-one, whose live config is its own; tests)
   * the retention given stays.
   */
  config?: ResolvedConfig;
  configFile?: string;
}

/**
 * A ledger writer process (`npm run start:ledger`, contract §10): any number of them share the
 * work through one consumer group. It serves /healthz, /readyz and /metrics on LEDGER_PORT.
 */
export async function startLedger(options: StartLedgerOptions): Promise<LedgerHandle> {
  const { env, logger } = options;
  let ledger = options.ledger;
  const owned = ledger === undefined;
  if (!ledger) {
    if (!env.databaseUrl) throw new Error('DATABASE_URL is not set: the ledger writer needs the PostgreSQL of the lead ledger');
    ledger = await openLedger({ databaseUrl: env.databaseUrl });
    await migrateLedger(ledger.db);
  }
  const metrics = options.metrics ?? createMetrics();
  // Blocking reads (XREADGROUP BLOCK) get a connection of their own.
  const redis = createRedis(env.redisUrl, 'consumer');
  const keys = redisKeys(env.prefix, { ledger: true });
  const writer = new LedgerWriter({
    redis,
    keys,
    compaction: new LeadCompaction(redis, keys, options.compactAfterMs ?? env.ledgerCompactAfterMs),
    db: ledger.db,
    consumer: options.consumer ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    metrics,
    logger,
    ...(options.retention ? { retention: options.retention } : {}),
  });
  writer.start();
  const live = options.config ? new LiveConfig({ redisUrl: env.redisUrl, keys, config: options.config, configFile: options.configFile, logger, metrics, role: 'ledger' }) : undefined;
  await live?.start();
  live?.onChange((config) => writer.setRetention(config.ledger));
  let server: Server | undefined;
  if (options.serve !== false) {
    const app = express();
    app.disable('x-powered-by');
    app.use(httpMetrics(metrics, 'ledger'));
    app.use(healthRoutes(metrics.registry, redisReadiness(redis, logger), env.metricsToken));
    server = await listen(app, env.host, options.port ?? env.ledgerPort, env.http);
  }
  const port = server ? boundPort(server) : 0;
  logger.info({ port, engine: ledger.engine }, 'ledger writer running');
  const openLedgerHandle = ledger;
  return {
    server,
    port,
    metrics,
    writer,
    reload: () => {
      live?.reloadFile('SIGHUP');
    },
    async close() {
      await live?.close();
      await writer.stop();
      if (server) await closeServer(server);
      redis.disconnect();
      if (owned) await openLedgerHandle.close();
    },
  };
}
