import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { Queue, Worker } from 'bullmq';
import { captureLogger, uniquePrefix, waitFor } from '@leadrouter/testing';
import { createRedis, freePort, reportRedisConnectionErrors, startRedisServer, type OwnedRedisServer } from '../src/index.js';

interface Line {
  msg: string;
  errors?: number;
}

describe('Redis connection errors', () => {
  test('while Redis is down: its first error, then one summary per interval with a count, then one line when it is back; BullMQ listeners get none of them', async () => {
    const started = Date.now();
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const { logger, lines } = captureLogger('test', 'info');
    const reporter = reportRedisConnectionErrors(logger, { everyMs: 400 });
    // A BullMQ Worker and Queue sharing one connection (plus the blocking duplicate the Worker
    // makes of it): before, each failed reconnect was one log line per listener.
    const connection = createRedis(url, 'consumer');
    const prefix = uniquePrefix();
    const queue = new Queue('q', { connection, prefix });
    const worker = new Worker('q', async () => undefined, { connection, prefix });
    const relayed: string[] = [];
    queue.on('error', (err) => relayed.push(err.message));
    worker.on('error', (err) => relayed.push(err.message));
    const dir = mkdtempSync(join(tmpdir(), 'lr-conn-errors-'));
    let server: OwnedRedisServer | undefined;
    const logged = (): Line[] => lines.map((l) => JSON.parse(l) as Line);
    const summaries = (): Line[] => logged().filter((l) => l.msg.startsWith('Redis still unreachable'));
    try {
      await waitFor(() => (summaries().length >= 3 ? true : undefined), 10_000, 'three summaries');
      expect(logged()[0]?.msg).toMatch(new RegExp(`^Redis connection failed \\(connect ECONNREFUSED 127.0.0.1:${port}\\); reconnecting`));
      // Every reconnect of both connections failed, many times, and was counted, not logged.
      const counted = summaries().reduce((sum, l) => sum + (l.errors ?? 0), 0);
      expect(counted).toBeGreaterThanOrEqual(6);
      expect(relayed).toEqual([]);

      server = await startRedisServer({ dir, port, appendOnly: false });
      await waitFor(() => (logged().some((l) => l.msg.startsWith('Redis connection back after')) ? true : undefined), 10_000, 'the line saying Redis is back');
      // The first error, at most one summary per 400 ms of the outage, and the line saying it is back.
      const outageMs = Date.now() - started;
      expect(lines.length).toBeLessThanOrEqual(1 + Math.ceil(outageMs / 400) + 1);
      expect(lines.length).toBeLessThan(counted);
    } finally {
      // BullMQ's closes wait for Redis: give them one, whatever happened above.
      server ??= await startRedisServer({ dir, port, appendOnly: false });
      await worker.close();
      await queue.close();
      connection.disconnect();
      reporter.stop();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a client disconnected while it waits to reconnect ends, and the command it held is answered with an error', async () => {
    // Nothing listens on this port: the consumer client fails to connect and waits to retry.
    const client = createRedis(`redis://127.0.0.1:${await freePort()}`, 'consumer');
    client.on('error', () => undefined);
    const held = client.get('anything');
    await waitFor(() => (client.status === 'reconnecting' ? true : undefined), 5_000, 'the client waiting to reconnect');
    client.disconnect();
    expect(client.status).toBe('end');
    await expect(held).rejects.toThrow(/Connection is closed/);
  });
});
