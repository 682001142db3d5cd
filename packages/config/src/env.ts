import { resolve } from 'node:path';
import { defaultMaxConnections, HTTP_TIMEOUTS, type HttpLimits } from './http-limits.js';

/**
 * The environment of contract §1, read once at start. Engines never read process.env themselves:
 * they get these typed values from main.ts.
 */
export interface ServiceEnv {
  redisUrl: string;
  /** True when REDIS_URL (or REDIS_CLUSTER_NODES) was given explicitly (the all-in-one then never starts its own Redis). */
  redisUrlGiven: boolean;
  /**
   * REDIS_CLUSTER_NODES was given (contract §12): redisUrl is then `redis-cluster://host:port,...`,
   * which every connection of the process opens as a Redis Cluster client.
   */
  redisCluster: boolean;
  prefix: string;
  host: string;
  intakePort: number;
  postbackPort: number;
  workerPort: number;
  /** LEDGER_PORT (3003): the ledger writer's /healthz, /readyz, /metrics. */
  ledgerPort: number;
  adminApiKey: string | undefined;
  /** When set, every `/metrics` answers only `Authorization: Bearer <token>` (contract §1). */
  metricsToken: string | undefined;
  logLevel: string;
  /** Timeouts and the connection cap of every HTTP server (HTTP_MAX_CONNECTIONS, HTTP_KEEP_ALIVE_MS). */
  http: HttpLimits;
  /** DATABASE_URL: the PostgreSQL of the lead ledger (contract §10). */
  databaseUrl: string | undefined;
  /**
   * Whether this install runs a ledger, so lead changes go to its change stream: with DATABASE_URL,
   * or in the all-in-one, which keeps an embedded one without it.
   */
  ledger: boolean;
  /** Where the all-in-one keeps its embedded ledger without DATABASE_URL (LEADROUTER_LEDGER_DIR, default ./.data/ledger). */
  ledgerDir: string;
  /**
   * LEADROUTER_LEDGER=off: the all-in-one runs without a ledger (no search, export or reports, and
   * Redis keeps each lead whole until its retention), for measuring what the ledger costs.
   */
  ledgerOff: boolean;
  /**
   * LEDGER_COMPACT_AFTER_MS (300000): how long a final lead stays whole in Redis after the ledger
   * has it, so that a job BullMQ re-runs after a crash still finds it whole (see LeadCompaction).
   */
  ledgerCompactAfterMs: number;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  const problems: string[] = [];
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535) problems.push(`${name} must be a port number, got "${raw}"`);
    return value;
  };
  const positive = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) problems.push(`${name} must be a whole number above 0, got "${raw}"`);
    return value;
  };
  const wholeOrZero = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) problems.push(`${name} must be a whole number (0 or more), got "${raw}"`);
    return value;
  };
  const prefix = env.LEADROUTER_PREFIX || 'lr';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) problems.push(`LEADROUTER_PREFIX must match [A-Za-z0-9_-]{1,32}, got "${prefix}"`);
  const logLevel = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }
  const clusterNodes = (env.REDIS_CLUSTER_NODES ?? '').trim();
  if (clusterNodes !== '') {
    for (const node of clusterNodes.split(',')) {
      const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(node.trim());
      if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) problems.push(`REDIS_CLUSTER_NODES must be host:port,host:port,...; "${node.trim()}" is not a host:port`);
    }
  }
  const result: ServiceEnv = {
    redisUrl: clusterNodes !== '' ? `redis-cluster://${clusterNodes.split(',').map((n) => n.trim()).join(',')}` : env.REDIS_URL || 'redis://127.0.0.1:6379',
    redisUrlGiven: Boolean(env.REDIS_URL) || clusterNodes !== '',
    redisCluster: clusterNodes !== '',
    prefix,
    host: env.HOST || '0.0.0.0',
    intakePort: port('INTAKE_PORT', 3000),
    postbackPort: port('POSTBACK_PORT', 3001),
    workerPort: port('WORKER_PORT', 3002),
    ledgerPort: port('LEDGER_PORT', 3003),
    adminApiKey: env.ADMIN_API_KEY || undefined,
    metricsToken: env.METRICS_TOKEN || undefined,
    logLevel,
    databaseUrl: env.DATABASE_URL || undefined,
    ledger: Boolean(env.DATABASE_URL),
    ledgerDir: env.LEADROUTER_LEDGER_DIR || resolve('.data', 'ledger'),
    ledgerOff: env.LEADROUTER_LEDGER === 'off',
    ledgerCompactAfterMs: wholeOrZero('LEDGER_COMPACT_AFTER_MS', 300_000),
    http: {
      ...HTTP_TIMEOUTS,
      // Behind a load balancer, set it above the balancer's idle timeout, so the balancer closes first.
      keepAliveTimeoutMs: positive('HTTP_KEEP_ALIVE_MS', HTTP_TIMEOUTS.keepAliveTimeoutMs),
      maxConnections: positive('HTTP_MAX_CONNECTIONS', defaultMaxConnections()),
    },
  };
  if (problems.length > 0) throw new Error(`invalid environment:\n  ${problems.join('\n  ')}`);
  return result;
}
