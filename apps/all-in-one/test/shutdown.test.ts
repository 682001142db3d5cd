import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import { freePort, startRedisServer, type OwnedRedisServer } from '@leadrouter/redis';
import { spawnRole, uniquePrefix, waitFor, type RoleProcess } from '@leadrouter/testing';

/** A process under test with everything it wrote, on a redis-server of its own that the test may kill. */
interface Started {
  role: RoleProcess;
  redis: OwnedRedisServer;
  /** A port of it that serves /readyz. */
  port: number;
  output(): string;
  /** Its pino lines, parsed (the all-in-one's banner is not one). */
  logLines(): Array<Record<string, unknown> & { msg: string }>;
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(app: string, startedLine: string, portVariable: string): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'lr-shutdown-redis-'));
  const redis = await startRedisServer({ dir, appendOnly: false });
  cleanup.push(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const ports: Record<string, string> = {
    INTAKE_PORT: String(await freePort()),
    POSTBACK_PORT: String(await freePort()),
    WORKER_PORT: String(await freePort()),
  };
  const role = spawnRole(
    app,
    { REDIS_URL: redis.url, LEADROUTER_PREFIX: uniquePrefix(), LEADROUTER_CONFIG: '', HOST: '127.0.0.1', ...ports },
    'pipe',
  );
  cleanup.push(() => role.stop('SIGKILL'));
  let output = '';
  role.child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  role.child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(
    () => {
      if (output.includes(startedLine)) return true;
      // Gone before it started: say why at once rather than after the timeout.
      if (role.child.exitCode !== null) throw new Error(`${app} exited with ${role.child.exitCode} before it started:\n${output}`);
      return undefined;
    },
    // The all-in-one's embedded PGlite takes about 5 s to start on a quiet machine, far more on a loaded CI.
    50_000,
    `${app} to start`,
  );
  return {
    role,
    redis,
    port: Number(ports[portVariable]),
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown> & { msg: string }),
  };
}

/**
 * Waits until the process itself has found Redis unreachable (its /readyz answers 503) for `forMs`
 * in a row: long enough for every connection to have failed to reconnect several times.
 */
async function redisGoneFor(started: Started, forMs: number): Promise<void> {
  let since: number | undefined;
  await waitFor(
    async () => {
      const status = await fetch(`http://127.0.0.1:${started.port}/readyz`).then((r) => r.status, () => 0);
      if (status !== 503) since = undefined;
      else since ??= Date.now();
      return since !== undefined && Date.now() - since >= forMs ? true : undefined;
    },
    20_000,
    `Redis to be unreachable for ${forMs} ms as the process sees it`,
  );
}

const BOUND_MS = 15_000;

/** SIGTERM, and how long the process took to exit (Infinity: still running well past the bound), with its exit code. */
async function terminate(started: Started): Promise<{ code: number | null; tookMs: number }> {
  const sent = Date.now();
  started.role.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const stillRunning = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), BOUND_MS + 5_000);
  });
  const code = await Promise.race([started.role.exit, stillRunning]);
  clearTimeout(timer);
  if (code === 'still running') return { code: null, tookMs: Infinity };
  const tookMs = Date.now() - sent;
  // 'exit' can come before the last of its output has been read: wait for the pipes to close.
  const child = started.role.child;
  if (child.stdout && !child.stdout.readableEnded) await new Promise((resolve) => child.stdout?.once('close', resolve));
  return { code, tookMs };
}

describe('SIGTERM while Redis is gone', () => {
  // What each role holds that needs Redis to finish: the ledger writer waits for it, so the
  // all-in-one's shutdown is abandoned (exit 1); the intake and the postback service have nothing
  // left that waits. Whether the worker's does depends on what BullMQ had in flight when Redis
  // went: either it finishes without Redis, or it is abandoned (`code: 'either'`).
  test.each([
    { app: 'worker', startedLine: '"msg":"worker running"', port: 'WORKER_PORT', code: 'either' as const, abandoned: ['worker'] },
    // The worker's part, or (when it finished without Redis) the ledger writer's after it.
    { app: 'all-in-one', startedLine: 'demo supplier API key', port: 'INTAKE_PORT', code: 1, abandoned: ['all-in-one', expect.stringMatching(/^(worker \(jobs in hand, queues\)|ledger writer)$/)] },
    { app: 'intake-api', startedLine: '"msg":"intake listening"', port: 'INTAKE_PORT', code: 0, abandoned: undefined },
    { app: 'postback', startedLine: '"msg":"postback listening"', port: 'POSTBACK_PORT', code: 0, abandoned: undefined },
  ])('$app: its Redis killed, it exits within 15 s, says what it abandoned, and logs the connection errors in a line or two', async ({ app, startedLine, port, code, abandoned }) => {
    const started = await start(app, startedLine, port);
    process.kill(started.redis.pid, 'SIGKILL');
    await redisGoneFor(started, 2000);
    const exit = await terminate(started);
    expect(exit.tookMs).toBeLessThan(BOUND_MS);
    if (code === 'either') expect([0, 1]).toContain(exit.code);
    else expect(exit.code).toBe(code);
    const lines = started.logLines();
    if (abandoned && exit.code === 1) {
      expect(lines.find((l) => l.msg.startsWith('shutdown abandoned'))).toMatchObject({ abandoned, reason: expect.stringMatching(/^Redis at redis:\/\/127\.0\.0\.1:\d+ unreachable for/) });
    } else {
      expect(lines.at(-1)?.msg).toBe('stopped');
    }
    // Every connection failed to reconnect, again and again, for 2 s and more: a line or two said so.
    expect(lines.filter((l) => JSON.stringify(l).includes('ECONN')).length).toBeLessThanOrEqual(2);
  }, 90_000);

  test('worker: its Redis hangs (SIGSTOP: connections stay open, nothing answers), it still exits within 15 s and says how', async () => {
    const started = await start('worker', '"msg":"worker running"', 'WORKER_PORT');
    process.kill(started.redis.pid, 'SIGSTOP');
    // Run again before it is stopped for good: a stopped process takes its SIGTERM only then.
    cleanup.push(() => process.kill(started.redis.pid, 'SIGCONT'));
    await redisGoneFor(started, 2000);
    const exit = await terminate(started);
    expect(exit.tookMs).toBeLessThan(BOUND_MS);
    // Whether BullMQ's close waits for the frozen Redis depends on what it had in flight at the
    // freeze: either it finished without it, or it was abandoned once Redis missed its PINGs.
    const last = started.logLines().at(-1);
    if (exit.code === 0) expect(last?.msg).toBe('stopped');
    else expect(last).toMatchObject({ abandoned: ['worker'], reason: expect.stringContaining('unreachable') });
  }, 90_000);
});
