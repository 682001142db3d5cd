import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/**
 * A redis-server child process that LeadRouter started itself: the all-in-one's private Redis when
 * none is given, and the test suite's Redis. Only a server started here is ever flushed or stopped.
 */
export interface OwnedRedisServer {
  url: string;
  port: number;
  dir: string;
  pid: number;
  stop(): Promise<void>;
  /**
   * Sends SIGTERM (redis-server then writes its AOF and exits) without waiting: for an exit hook,
   * so that a process leaving in a hurry does not leave its private Redis running.
   */
  stopNow(): void;
}

export interface StartRedisOptions {
  port?: number;
  dir: string;
  /** AOF on (the all-in-one, fault tests) or off (fast test runs). */
  appendOnly: boolean;
  extraArgs?: string[];
  startTimeoutMs?: number;
  /** requirepass; the returned url then carries it. */
  password?: string;
}

export function redisServerAvailable(): boolean {
  const result = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startRedisServer(options: StartRedisOptions): Promise<OwnedRedisServer> {
  mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', options.dir,
    '--save', '',
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let failure: Error | undefined;
  child.on('error', (err) => {
    failure = err;
  });
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  const url = `redis://${auth}127.0.0.1:${port}`;
  const up = await answersWithin(url, options.startTimeoutMs ?? 10_000);
  if (!up || failure || child.exitCode !== null) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not start on port ${port}${failure ? `: ${failure.message}` : ''}`);
  }
  return {
    url,
    port,
    dir: options.dir,
    pid: child.pid ?? -1,
    stop: () => stopChild(child),
    stopNow: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * Whether a Redis at `url` answers PING within `timeoutMs`: a fresh connection per try, none of
 * which retries by itself. (An ioredis client disconnected while it waits to reconnect stays
 * "reconnecting" for good, and a test file would count it as left open.)
 */
async function answersWithin(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return true;
    } catch {
      // Not listening yet.
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // SIGTERM makes redis-server flush its AOF before it exits.
    child.kill('SIGTERM');
  });
}
