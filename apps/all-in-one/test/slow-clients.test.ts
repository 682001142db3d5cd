import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, test } from '@jest/globals';
import { HTTP_TIMEOUTS } from '@leadrouter/config';
import { spawnAllInOne, waitFor } from '@leadrouter/testing';

/**
 * Slow and idle clients against the all-in-one, over real sockets: none of them may hold a
 * connection past the timeouts, and a flood on one port must leave the others reachable.
 */

interface RawClient {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Resolves with the ms from connect to close. */
  closed: Promise<number>;
}

function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    // A write after the server closed is EPIPE/ECONNRESET: expected here, the close is what is measured.
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

/** Writes `chunks` one by one every `everyMs` until the socket closes. */
function trickle(client: RawClient, chunks: string[], everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (client.socket.destroyed || i >= chunks.length) return;
    client.socket.write(chunks[i++] as string);
  }, everyMs);
  return () => clearInterval(timer);
}

describe('slow and idle clients', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });
  let ports: { intake: number; postback: number; worker: number };
  const MAX_CONNECTIONS = 40;

  test('the all-in-one starts with a small connection cap', async () => {
    // No ledger: these are the HTTP servers' limits, and an embedded PGlite takes seconds to start under a loaded CI.
    const role = await spawnAllInOne({ HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS), LEADROUTER_LEDGER: 'off' });
    ports = role.ports;
    cleanup.push(() => role.stop());
    for (const port of Object.values(ports)) {
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, `port ${port}`);
    }
  }, 30_000);

  test('a header trickle is answered 408 and dropped at the headers timeout, not held while it trickles', async () => {
    const client = await rawClient(ports.intake);
    client.socket.write('POST /v1/leads HTTP/1.1\r\nHost: x\r\n');
    const stop = trickle(client, Array.from({ length: 200 }, (_, i) => `X-Slow-${i}: y\r\n`), 500);
    cleanup.push(stop);
    const heldMs = await client.closed;
    stop();
    expect(client.received()).toMatch(/^HTTP\/1\.1 408/);
    // It would have trickled for 100 s; the server let go at its headers timeout.
    expect(heldMs).toBeLessThan(HTTP_TIMEOUTS.headersTimeoutMs + 3_000);
  }, 30_000);

  test('a body trickle with no API key gets its 401 at once and the connection is closed, long before the body ends', async () => {
    const client = await rawClient(ports.intake);
    const body = JSON.stringify({ name: 'Slow Loris', phone: '+14155550123', geo: 'US', source: 'Facebook', pad: 'x'.repeat(400) });
    client.socket.write(`POST /v1/leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const stop = trickle(client, body.split(''), 200);
    cleanup.push(stop);
    const answered = await waitFor(() => (client.received().includes('\r\n\r\n') ? client.received() : undefined), 5_000, 'the 401');
    expect(answered).toMatch(/^HTTP\/1\.1 401/);
    expect(answered).toMatch(/connection: close/i);
    const heldMs = await client.closed;
    stop();
    // The body would take 90 s at this pace.
    expect(heldMs).toBeLessThan(5_000);
  }, 30_000);

  test(`past ${MAX_CONNECTIONS} idle sockets the intake drops new ones at once, the other ports stay reachable, and the idle ones are dropped at the headers timeout`, async () => {
    const idle = await Promise.all(Array.from({ length: MAX_CONNECTIONS * 3 }, () => rawClient(ports.intake)));
    cleanup.push(() => idle.forEach((c) => c.socket.destroy()));
    // Sockets over the cap are closed by the server straight away.
    const dropped = await waitFor(async () => {
      const count = (await Promise.all(idle.map((c) => Promise.race([c.closed.then(() => 1), new Promise<number>((r) => setTimeout(() => r(0), 50))])))).reduce((a, b) => a + b, 0);
      return count >= MAX_CONNECTIONS * 2 ? count : undefined;
    }, 5_000, 'connections over the cap closed');
    expect(dropped).toBeLessThanOrEqual(MAX_CONNECTIONS * 2 + 1);
    for (const port of [ports.postback, ports.worker]) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // The idle ones under the cap sent nothing: they are let go at the headers timeout, and the intake answers again.
    const heldMs = await Promise.all(idle.map((c) => c.closed));
    expect(Math.max(...heldMs)).toBeLessThan(HTTP_TIMEOUTS.headersTimeoutMs + 3_000);
    expect((await fetch(`http://127.0.0.1:${ports.intake}/healthz`)).status).toBe(200);
  }, 40_000);
});
