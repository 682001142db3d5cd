import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import { freePort, startRedisServer, type OwnedRedisServer, type StartRedisOptions } from '@leadrouter/redis';
import { spawnRole, uniquePrefix, waitFor } from '@leadrouter/testing';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function redisServer(options: Omit<StartRedisOptions, 'dir'>): Promise<OwnedRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lr-start-redis-'));
  const server = await startRedisServer({ dir, ...options });
  cleanup.push(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

/**
 * Starts `app` on `redisUrl`; resolves once it is up, before anyone asked /readyz, with what it has
 * written so far, and a way to read what it writes later.
 */
async function startupLog(app: string, redisUrl: string, upLine: string): Promise<{ atStart: string; now(): string; port: number }> {
  const port = await freePort();
  const role = spawnRole(
    app,
    {
      REDIS_URL: redisUrl,
      LEADROUTER_PREFIX: uniquePrefix(),
      LEADROUTER_CONFIG: '',
      HOST: '127.0.0.1',
      INTAKE_PORT: String(port),
      POSTBACK_PORT: String(await freePort()),
      WORKER_PORT: String(port),
    },
    'pipe',
  );
  cleanup.push(() => role.stop('SIGTERM'));
  let output = '';
  role.child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  role.child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(
    () => {
      if (output.includes(upLine)) return true;
      // Gone before it started: say why at once rather than after the timeout.
      if (role.child.exitCode !== null) throw new Error(`${app} exited with ${role.child.exitCode} before it started:\n${output}`);
      return undefined;
    },
    30_000,
    `${app} to start`,
  );
  return { atStart: output, now: () => output, port };
}

const count = (text: string, part: string): number => text.split(part).length - 1;

describe('at start, every process says which Redis it uses and whether it is safe for leads', () => {
  test('a Redis without persistence and with an eviction policy: the start log names it (password masked) and warns about both', async () => {
    const password = 's3cret-pw';
    const redis = await redisServer({ appendOnly: false, password, extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
    const intake = await startupLog('intake-api', redis.url, '"msg":"intake listening"');
    const log = intake.atStart;
    expect(log).toContain(`"msg":"using Redis at redis://:***@127.0.0.1:${redis.port} (external, from REDIS_URL)"`);
    expect(log).not.toContain(password);
    const noPersistence = '"msg":"UNSAFE: Redis has no persistence (appendonly no, no save points): a Redis restart loses every queued lead; set appendonly yes"';
    expect(log).toContain(noPersistence);
    expect(log).toContain('"msg":"UNSAFE: Redis maxmemory-policy is \\"allkeys-lru\\": when full it may evict queued leads; set noeviction"');
    // /readyz shows the same warnings; the log, having said them, does not say them twice.
    const ready = (await (await fetch(`http://127.0.0.1:${intake.port}/readyz`)).json()) as { warnings: string[] };
    expect(ready.warnings).toEqual(expect.arrayContaining([expect.stringContaining('no persistence'), expect.stringContaining('allkeys-lru')]));
    expect(count(intake.now(), noPersistence)).toBe(1);
  }, 40_000);

  test('a Redis with AOF and noeviction: named, found safe, and no warning', async () => {
    const redis = await redisServer({ appendOnly: true });
    const log = (await startupLog('worker', redis.url, '"msg":"worker running"')).atStart;
    expect(log).toContain(`"msg":"using Redis at redis://127.0.0.1:${redis.port} (external, from REDIS_URL)"`);
    expect(log).toContain('"msg":"Redis is set to keep leads: persistence on, maxmemory-policy noeviction"');
    expect(log).not.toContain('UNSAFE');
  }, 40_000);
});
