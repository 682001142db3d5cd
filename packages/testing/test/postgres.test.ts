import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { freshDatabase, startPostgres, testDatabaseUrl, type FreshDatabase, type OwnedPostgres } from '../src/postgres.js';

/** Runs `fn` with a client on `url`, always closed after. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe("the suite's private PostgreSQL (global setup)", () => {
  const databases: FreshDatabase[] = [];
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  it('is on a port of its own, on 127.0.0.1, never 5432', () => {
    const url = new URL(testDatabaseUrl());
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/leadrouter_test');
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(Number(url.port)).not.toBe(5432);
  });

  it('takes a table, rows and a query', async () => {
    const database = await freshDatabase();
    databases.push(database);
    const rows = await withClient(database.url, async (client) => {
      await client.query('CREATE TABLE leads (id serial PRIMARY KEY, email text NOT NULL)');
      await client.query('INSERT INTO leads (email) VALUES ($1), ($2)', ['a@example.com', 'b@example.com']);
      const result = await client.query<{ email: string }>('SELECT email FROM leads ORDER BY id');
      return result.rows.map((row) => row.email);
    });
    expect(rows).toEqual(['a@example.com', 'b@example.com']);
    const settings = await withClient(database.url, async (client) => {
      const result = await client.query<{ encoding: string; addresses: string }>(
        "SELECT pg_encoding_to_char(encoding) AS encoding, current_setting('listen_addresses') AS addresses FROM pg_database WHERE datname = current_database()",
      );
      return result.rows[0];
    });
    expect(settings).toEqual({ encoding: 'UTF8', addresses: '127.0.0.1' });
  });

  it('gives each freshDatabase() its own, isolated database, and drops it', async () => {
    const [first, second] = await Promise.all([freshDatabase(), freshDatabase()]);
    if (!first || !second) throw new Error('two databases expected');
    databases.push(first, second);
    expect(first.url).not.toBe(second.url);
    await withClient(first.url, async (client) => {
      await client.query('CREATE TABLE only_here (n int)');
      await client.query('INSERT INTO only_here VALUES (1)');
    });
    const inSecond = await withClient(second.url, async (client) => (await client.query("SELECT to_regclass('only_here') AS t")).rows[0]);
    expect(inSecond).toEqual({ t: null });

    // An open connection does not stop drop(); afterwards the database is gone.
    const lingering = new pg.Client({ connectionString: second.url });
    lingering.on('error', () => undefined);
    await lingering.connect();
    try {
      await second.drop();
    } finally {
      await lingering.end().catch(() => undefined);
    }
    const names = await withClient(testDatabaseUrl(), async (client) => (await client.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((row) => row.datname));
    expect(names).toContain(first.name);
    expect(names).not.toContain(second.name);
  });
});

// Fault tests take PostgreSQL down: they start a server of their own (~1-2 s), never the suite's.
describe('startPostgres(): a server of its own, restarted', () => {
  let server: OwnedPostgres;
  beforeAll(async () => {
    server = await startPostgres({ database: 'restart_test' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps committed data across a fast restart and a crash (immediate) restart', async () => {
    expect(server.port).not.toBe(5432);
    expect(server.port).not.toBe(Number(new URL(testDatabaseUrl()).port));
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/restart_test`);
    await withClient(server.url, async (client) => {
      await client.query('CREATE TABLE kept (n int)');
      await client.query('INSERT INTO kept VALUES (1), (2), (3)');
    });

    // A pool, as the product would hold: its idle connection is cut by the restart, and a new one works after.
    const pool = new pg.Pool({ connectionString: server.url, max: 2, connectionTimeoutMillis: 2000 });
    pool.on('error', () => undefined);
    try {
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      await server.takeDown();
      expect(server.running()).toBe(false);
      await expect(withClient(server.url, (client) => client.query('SELECT 1'))).rejects.toThrow();
      await server.bringUp();
      expect(server.running()).toBe(true);

      await withClient(server.url, (client) => client.query('INSERT INTO kept VALUES (4)'));
      await server.restart({ mode: 'immediate', downForMs: 200 });

      const result = await pool.query<{ n: number }>('SELECT n FROM kept ORDER BY n');
      expect(result.rows.map((row) => row.n)).toEqual([1, 2, 3, 4]);
    } finally {
      await pool.end();
    }
  });

  // Last: it ends the server (afterAll's stop() is then a no-op).
  it('stop() removes its directory, and is idempotent', async () => {
    expect(existsSync(server.dir)).toBe(true);
    await server.stop();
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
    await expect(withClient(server.url, (client) => client.query('SELECT 1'))).rejects.toThrow();
    await expect(server.bringUp()).rejects.toThrow(/stopped for good/);
  });
});
