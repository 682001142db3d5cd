// Jest loads global setup outside its module system, where workspace packages (TypeScript
// sources) cannot be imported directly: tsx's loader imports them instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * Starts the test suite's own redis-server and PostgreSQL, each on a free port of 127.0.0.1, in a
 * temporary directory. Tests reach them through LR_TEST_REDIS_URL and LR_TEST_DATABASE_URL and
 * never touch any other Redis or PostgreSQL (the machine may run its own on 6379 and 5432).
 */
export default async function globalSetup() {
  // Once per run: the cluster project's setup may have run it first (jest orders projects' setups by their tests).
  if (globalThis.__leadrouterRedis) return;
  const { redisServerAvailable, startRedisServer } = await tsImport('../../redis/src/redis-server.ts', import.meta.url);
  const { postgresAvailable, startPostgres } = await tsImport('./postgres.ts', import.meta.url);
  if (!redisServerAvailable()) {
    throw new Error('redis-server is not on PATH: install it (Debian: apt-get install redis-server) to run the tests');
  }
  if (!postgresAvailable()) {
    throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are neither on PATH nor under /usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql) to run the tests');
  }
  const dir = mkdtempSync(join(tmpdir(), 'leadrouter-test-redis-'));
  const server = await startRedisServer({ dir, appendOnly: false });
  process.env.LR_TEST_REDIS_URL = server.url;
  globalThis.__leadrouterRedis = server;

  // initdb + start, once per run (1-2 s); each test file takes a database of its own with
  // freshDatabase(). Fault tests that take PostgreSQL down start a server of their own instead.
  let postgres;
  try {
    postgres = await startPostgres();
  } catch (err) {
    // Jest runs no teardown when setup fails: do not leave the Redis behind.
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  process.env.LR_TEST_DATABASE_URL = postgres.url;
  globalThis.__leadrouterPostgres = postgres;
  // pg_ctl daemonizes the server in a session of its own, so neither jest's exit nor a Ctrl-C
  // reaches it: should jest leave without its teardown, stop it (a no-op after teardown).
  process.once('exit', () => postgres.stopSync());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      postgres.stopSync();
      // Listening replaced the default action (exit): restore it, unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
