import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { REPO_ROOT, waitFor } from '@leadrouter/testing';

interface Stopped {
  code: number | null;
  tookMs: number;
  last: Record<string, unknown>;
}

/** Runs the fixture, SIGTERMs it once it is up, and returns how it ended and its last log line. */
async function stopFixture(deadlineMs: number, needsRedis: boolean, redisGone: boolean): Promise<Stopped> {
  const fixture = join(import.meta.dirname, 'shutdown.fixture.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(deadlineMs), needsRedis ? 'yes' : 'no', redisGone ? 'yes' : 'no'], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  // 'close', not 'exit': its output is read to the end before its last line is looked at.
  const exit = new Promise<number | null>((resolve) => child.once('close', resolve));
  try {
    await waitFor(() => (output.includes('"msg":"ready"') ? true : undefined), 20_000, 'the fixture to start');
    const sent = Date.now();
    child.kill('SIGTERM');
    const code = await exit;
    const lines = output.trim().split('\n');
    return { code, tookMs: Date.now() - sent, last: JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown> };
  } finally {
    child.kill('SIGKILL');
  }
}

describe('a shutdown that cannot finish', () => {
  test('is abandoned at its deadline: exit 1, and a line naming what it was still waiting for', async () => {
    const stopped = await stopFixture(800, true, false);
    expect(stopped.code).toBe(1);
    expect(stopped.tookMs).toBeGreaterThanOrEqual(800);
    expect(stopped.tookMs).toBeLessThan(5_000);
    expect(stopped.last).toMatchObject({ level: 50, abandoned: ['a close that never ends'], reason: 'not finished within 0.8 s' });
    expect(stopped.last.msg).toContain('gave up waiting for a close that never ends; exiting 1');
  }, 30_000);

  test('is abandoned at once when Redis is gone and the part running needs it', async () => {
    const stopped = await stopFixture(20_000, true, true);
    expect(stopped.code).toBe(1);
    expect(stopped.tookMs).toBeLessThan(5_000);
    expect(stopped.last).toMatchObject({ abandoned: ['a close that never ends'], reason: 'Redis at redis://127.0.0.1:1 unreachable for 3.0 s' });
  }, 30_000);

  test('a part that needs no Redis (stopping the private redis-server) is not abandoned for Redis being gone, only at the deadline', async () => {
    const stopped = await stopFixture(1_500, false, true);
    expect(stopped.code).toBe(1);
    expect(stopped.tookMs).toBeGreaterThanOrEqual(1_500);
    expect(stopped.last).toMatchObject({ abandoned: ['a close that never ends'], reason: 'not finished within 1.5 s' });
  }, 30_000);
});
