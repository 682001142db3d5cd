/**
 * The real LeadRouter for scripts (soak, simulator): a private redis-server, then each role as its
 * own OS process started the way `npm run start:*` starts it, with a config file written here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedisServer } from '@leadrouter/redis';
import { spawnRole, startPostgres, type OwnedPostgres, type RoleProcess } from '@leadrouter/testing';

/** The key prefix the scripts' system runs with (set explicitly: a LEADROUTER_PREFIX in the caller's environment must not leak in). */
export const SYSTEM_PREFIX = 'lr';

export interface RunningSystem {
  intake: string;
  postback: string;
  /** One base URL per worker process (its /metrics and /readyz). */
  workers: string[];
  redisUrl: string;
  /** A client of the private Redis, for reading lead statuses directly. */
  redis: Redis;
  /** With `ledger`: the private PostgreSQL every role's DATABASE_URL names, and the ledger writer's base URL. */
  databaseUrl?: string;
  ledgerWriter?: string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** The YAML config the roles load (LEADROUTER_CONFIG). */
  config: string;
  workers: number;
  adminKey: string;
  appendOnly?: boolean;
  logLevel?: string;
  /** Run the lead ledger too: a private PostgreSQL (initdb/pg_ctl, never the machine's) and one `start:ledger` process. */
  ledger?: boolean;
}

export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const work = mkdtempSync(join(tmpdir(), 'lr-system-'));
  const server = await startRedisServer({ dir: join(work, 'redis'), appendOnly: options.appendOnly ?? false });
  const configFile = join(work, 'leadrouter.yaml');
  writeFileSync(configFile, options.config);
  const postgres: OwnedPostgres | undefined = options.ledger ? await startPostgres() : undefined;
  const env = {
    REDIS_URL: server.url,
    LEADROUTER_CONFIG: configFile,
    LEADROUTER_PREFIX: SYSTEM_PREFIX,
    ADMIN_API_KEY: options.adminKey,
    HOST: '127.0.0.1',
    LOG_LEVEL: options.logLevel ?? 'warn',
    // Compaction a second after the ledger has a final lead (LEDGER_COMPACT_AFTER_MS, default 5 min), so a run sees what it saves.
    ...(postgres ? { DATABASE_URL: postgres.url, LEDGER_COMPACT_AFTER_MS: '1000' } : {}),
  };
  const intakePort = await freePort();
  const postbackPort = await freePort();
  const workerPorts = await Promise.all(Array.from({ length: options.workers }, () => freePort()));
  const ledgerPort = postgres ? await freePort() : undefined;
  const roles: RoleProcess[] = [
    // The ledger writer first: it runs the migrations the other roles' ledger reads need.
    ...(ledgerPort ? [spawnRole('ledger', { ...env, LEDGER_PORT: String(ledgerPort) })] : []),
    spawnRole('intake-api', { ...env, INTAKE_PORT: String(intakePort) }),
    spawnRole('postback', { ...env, POSTBACK_PORT: String(postbackPort) }),
    ...workerPorts.map((port) => spawnRole('worker', { ...env, WORKER_PORT: String(port) })),
  ];
  const url = (port: number): string => `http://127.0.0.1:${port}`;
  const redis = new Redis(server.url);
  const stop = async (): Promise<void> => {
    await Promise.all(roles.map((r) => r.stop('SIGTERM')));
    redis.disconnect();
    await server.stop();
    await postgres?.stop();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    for (const port of [...(ledgerPort ? [ledgerPort] : []), intakePort, postbackPort, ...workerPorts]) await waitReady(`${url(port)}/readyz`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    intake: url(intakePort),
    postback: url(postbackPort),
    workers: workerPorts.map(url),
    redisUrl: server.url,
    redis,
    ...(postgres && ledgerPort ? { databaseUrl: postgres.url, ledgerWriter: url(ledgerPort) } : {}),
    stop,
  };
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await fetch(url).catch(() => undefined))?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

/** The header that opens `/metrics` when the system runs with METRICS_TOKEN (contract §1). */
export function metricsHeaders(): Record<string, string> {
  const token = process.env.METRICS_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Sum of a counter's samples over the given /metrics endpoints. */
export async function counterTotal(baseUrls: string[], name: string): Promise<number> {
  let total = 0;
  for (const base of baseUrls) {
    const text = await (await fetch(`${base}/metrics`, { headers: metricsHeaders() })).text();
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
