import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import { freePort } from '@leadrouter/redis';
import { captureLogger, spawnAllInOne, spawnRole, testRedisUrl, waitFor } from '@leadrouter/testing';
import { ensureRedis } from '../src/private-redis.js';


describe('all-in-one (npm start)', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('on the bundled config it prints the demo key, sells a posted lead to the demo buyer, and stops cleanly on SIGTERM', async () => {
    const { child, exit, stop, ports } = await spawnAllInOne({}, 'pipe');
    const [intakePort, postbackPort, workerPort] = [ports.intake, ports.postback, ports.worker];
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    cleanup.push(() => stop());
    await waitFor(() => (stdout.includes('demo supplier API key: demo-key-change-me') ? true : undefined), 20_000, 'the demo key line');
    for (const port of [intakePort, postbackPort, workerPort]) {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    }
    const res = await fetch(`http://127.0.0.1:${intakePort}/v1/leads?wait=10`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'demo-key-change-me' },
      body: JSON.stringify({ name: 'Jane Roe', phone: '+14155552671', geo: 'US', source: 'Facebook' }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'accepted', result: 'delivered', payout: 10 });
    const lead = await fetch(`http://127.0.0.1:${intakePort}/v1/leads/${String(body.id)}`, { headers: { 'x-api-key': 'demo-key-change-me' } });
    expect(((await lead.json()) as { status: string }).status).toBe('delivered');
    // One process: every port's /metrics shows the whole process, the sale included.
    for (const port of [intakePort, postbackPort, workerPort]) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('leadrouter_leads_sold_total{destination="demo-buyer",supplier="demo",route="everything",source="other"} 1');
      expect(text).toContain('leadrouter_leads_received_total{supplier="demo",geo="US",source="other"} 1');
    }
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stdout).toContain('"msg":"stopped"');
  }, 60_000);

  test('an invalid config makes the process exit non-zero with every problem listed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-badconfig-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'bad.yaml');
    await import('node:fs').then((fs) =>
      fs.writeFileSync(file, 'suppliers: [{ id: s, apiKeys: [k] }]\ndestinations: [{ id: d, url: "http://x/" }]\nroutes: [{ id: r, destinations: [{ id: nope }] }]\n'),
    );
    const intake = spawnRole('intake-api', { LEADROUTER_CONFIG: file, REDIS_URL: testRedisUrl() }, 'pipe');
    let stderr = '';
    intake.child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await intake.exit;
    expect(code).toBe(1);
    expect(stderr).toContain('routes[0].destinations[0].id: unknown destination "nope"');
  }, 30_000);

  test('with no REDIS_URL and nothing on the address, it starts a private redis-server with AOF', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'lr-private-redis-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const { logger, text } = captureLogger();
    const server = await ensureRedis(false, logger, { port, dataDir });
    expect(server).toBeDefined();
    cleanup.push(() => server?.stop());
    const client = new Redis(server!.url);
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', dataDir]);
    } finally {
      client.disconnect();
    }
    expect(text()).toContain('started a private redis-server');
    // A Redis already answering there is used as it is; an explicit REDIS_URL is never second-guessed.
    expect(await ensureRedis(false, logger, { port, dataDir })).toBeUndefined();
    expect(await ensureRedis(true, logger, { port: await freePort(), dataDir })).toBeUndefined();
  });
});
