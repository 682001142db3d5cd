import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, appendFileSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '@leadrouter/redis';

/**
 * A PostgreSQL server that the test harness started itself, in a temporary directory, on a free
 * port of 127.0.0.1 (never 5432, where the machine may run its own PostgreSQL, which tests must not
 * touch). Only a server started here is ever stopped, restarted or dropped from.
 */
export interface OwnedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/<database>: trust auth, no password. */
  url: string;
  port: number;
  database: string;
  /** The temporary directory: data/ (the cluster), postgres.log, and the unix socket. */
  dir: string;
  /** The same server, another database on it. */
  urlFor(database: string): string;
  /** Stops the server (pg_ctl stop -m fast) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** stop() for an exit hook: synchronous, immediate shutdown, then removes the directory. */
  stopSync(): void;
  /**
   * Takes the server down, keeping its data: `fast` (clients disconnected, clean shutdown) or
   * `immediate` (like a crash: recovery runs at the next start). For fault tests.
   */
  takeDown(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts a server taken down again, on the same port and data; resolves when it accepts connections. */
  bringUp(): Promise<void>;
  /** takeDown, wait downForMs (default 0), bringUp: "PostgreSQL down for 60 s then back". */
  restart(options?: { downForMs?: number; mode?: 'fast' | 'immediate' }): Promise<void>;
  /** Whether the server is up (as far as this handle knows: started and not taken down or stopped). */
  running(): boolean;
}

export interface StartPostgresOptions {
  /** Default: a free port. 5432 is refused. */
  port?: number;
  /** The database created and named in `url`. Default leadrouter_test. */
  database?: string;
  /** More postgresql.conf settings, e.g. { max_connections: 50 }. */
  settings?: Record<string, string | number>;
  /** How long to wait for the server to accept connections. Default 30 s. */
  startTimeoutMs?: number;
}

const THE_MACHINES_PORT = 5432;
const SUPERUSER = 'postgres';
const OS_USER = 'postgres';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

// ---------------------------------------------------------------------------------------------
// Finding the binaries

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * The directory holding initdb and pg_ctl: on PATH first, else the newest /usr/lib/postgresql/N/bin
 * (Debian installs the server there and puts neither on PATH).
 */
export function postgresBinDir(): string | undefined {
  const initdb = onPath('initdb');
  if (initdb) {
    // pg_ctl beside initdb, or beside the file initdb links to (one version, not a mix).
    for (const dir of [dirname(initdb), dirname(realpathSync(initdb))]) {
      if (isExecutable(join(dir, 'pg_ctl'))) return dir;
    }
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

/** Whether a private PostgreSQL can be started here: initdb and pg_ctl found (and, as root, a postgres user to run them). */
export function postgresAvailable(): boolean {
  if (!postgresBinDir()) return false;
  return !runningAsRoot() || osUserIds() !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Running them (as the postgres OS user when we are root: initdb and postgres refuse root)

function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

function osUserIds(): { uid: number; gid: number } | undefined {
  const id = (flag: string) => {
    const result = spawnSync('id', [flag, OS_USER], { encoding: 'utf8' });
    const value = Number(result.stdout?.trim());
    return result.status === 0 && Number.isInteger(value) ? value : undefined;
  };
  const uid = id('-u');
  const gid = id('-g');
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs `bin args` as the postgres OS user when we are root, else as us. */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  if (!runningAsRoot()) return [bin, args];
  // util-linux's runuser (Debian 12: /usr/sbin/runuser, often not on a non-login PATH), else su.
  const runuser = onPath('runuser') ?? ['/usr/sbin/runuser', '/sbin/runuser'].find(isExecutable);
  if (runuser) return [runuser, ['-u', OS_USER, '--', bin, ...args]];
  const su = onPath('su') ?? ['/usr/bin/su', '/bin/su'].find(isExecutable) ?? 'su';
  return [su, [OS_USER, '-s', '/bin/sh', '-c', [bin, ...args].map(shellQuote).join(' ')]];
}

interface RunResult {
  code: number | null;
  output: string;
}

async function run(bin: string, args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  const [command, commandArgs] = asServerUser(bin, args);
  return new Promise((resolve, reject) => {
    // LC_ALL=C: initdb must not pick up a locale the machine lacks; cwd: a directory the postgres user can enter.
    const child = spawn(command, commandArgs, { cwd, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function runSync(bin: string, args: string[], cwd: string, timeoutMs: number): void {
  const [command, commandArgs] = asServerUser(bin, args);
  spawnSync(command, commandArgs, { cwd, env: { ...process.env, LC_ALL: 'C' }, stdio: 'ignore', timeout: timeoutMs });
}

// ---------------------------------------------------------------------------------------------
// The server

function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain database name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function urlWithDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.href;
}

function confValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`;
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'postgres.log'), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs `fn` with a connected client, and always closes it. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, connectTimeoutMs = 5000): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntilAccepting(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await withClient(url, (client) => client.query('SELECT 1'), 1000);
      return true;
    } catch {
      if (Date.now() >= deadline) return false;
      await sleep(50);
    }
  }
}

/**
 * Starts a private PostgreSQL: initdb (trust auth, user postgres, UTF8, --no-sync) into a fresh
 * temporary directory, pg_ctl start on a free port of 127.0.0.1 only (fsync off, small buffers),
 * then creates the database named in the returned url. ~1 s.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<OwnedPostgres> {
  const binDir = postgresBinDir();
  if (!binDir) {
    throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are neither on PATH nor under /usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql)');
  }
  if (options.port === THE_MACHINES_PORT) throw new Error('port 5432 belongs to the machine\'s own PostgreSQL: the tests never use it');
  const database = options.database ?? 'leadrouter_test';
  quoteIdentifier(database);
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const initdb = join(binDir, 'initdb');
  const pgCtl = join(binDir, 'pg_ctl');

  const dir = mkdtempSync(join(tmpdir(), 'leadrouter-test-pg-'));
  const dataDir = join(dir, 'data');
  const conf = join(dataDir, 'postgresql.conf');
  try {
    if (runningAsRoot()) {
      const ids = osUserIds();
      if (!ids) throw new Error(`running as root, and there is no "${OS_USER}" OS user to run initdb as (apt-get install postgresql creates it)`);
      chownSync(dir, ids.uid, ids.gid);
    }
    const init = await run(initdb, ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], dir, 60_000);
    if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code}):\n${init.output.trim()}`);
    const settings: Record<string, string | number> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      // Safe against a crash of the server process (the fault tests'), not of the machine. Not
      // synchronous_commit=off: a crash (pg_ctl stop -m immediate) would lose committed rows.
      fsync: 'off',
      full_page_writes: 'off',
      shared_buffers: '16MB',
      max_connections: 100,
      logging_collector: 'off',
      ...options.settings,
    };
    // Appended to the file initdb wrote (so it keeps its owner); a later line wins over an earlier one.
    appendFileSync(conf, `\n# leadrouter test harness\n${Object.entries(settings).map(([key, value]) => `${key} = ${confValue(value)}`).join('\n')}\n`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let port = 0;
  let up = false;
  let removed = false;
  const serverUrl = () => `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;

  const pgCtlStart = async (): Promise<void> => {
    // -w: pg_ctl returns once the server is ready (or has failed); then a real connection confirms it.
    const result = await run(pgCtl, ['start', '-w', '-t', String(Math.ceil(startTimeoutMs / 1000)), '-D', dataDir, '-l', join(dir, 'postgres.log')], dir, startTimeoutMs + 5000);
    if (result.code !== 0) throw new Error(`pg_ctl start failed on port ${port} (exit ${result.code}):\n${result.output.trim()}\n${logTail(dir)}`);
    if (!(await waitUntilAccepting(serverUrl(), startTimeoutMs))) {
      throw new Error(`PostgreSQL on port ${port} did not accept connections within ${startTimeoutMs} ms:\n${logTail(dir)}`);
    }
    up = true;
  };

  const pgCtlStop = async (mode: 'fast' | 'immediate'): Promise<void> => {
    const result = await run(pgCtl, ['stop', '-w', '-m', mode, '-D', dataDir], dir, 60_000);
    // Exit 1 with "Is server running?" is a server already down: nothing to stop.
    if (result.code !== 0 && !/is server running/i.test(result.output)) {
      throw new Error(`pg_ctl stop failed (exit ${result.code}):\n${result.output.trim()}`);
    }
    up = false;
  };

  try {
    // A free port can be taken between freePort() and the server's bind: then try another.
    for (let attempt = 1; ; attempt++) {
      port = options.port ?? (await freePort());
      if (port === THE_MACHINES_PORT) continue;
      appendFileSync(conf, `port = ${port}\n`);
      try {
        await pgCtlStart();
        break;
      } catch (err) {
        const portTaken = /address already in use|could not create any TCP\/IP sockets/i.test(logTail(dir));
        if (options.port !== undefined || !portTaken || attempt >= 3) throw err;
      }
    }
    await withClient(serverUrl(), (client) => client.query(`CREATE DATABASE ${quoteIdentifier(database)}`));
  } catch (err) {
    await pgCtlStop('immediate').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const handle: OwnedPostgres = {
    url: urlWithDatabase(serverUrl(), database),
    port,
    database,
    dir,
    urlFor: (name) => urlWithDatabase(serverUrl(), name),
    async stop() {
      if (removed) return;
      removed = true;
      await pgCtlStop('fast').catch(() => pgCtlStop('immediate').catch(() => undefined));
      rmSync(dir, { recursive: true, force: true });
    },
    stopSync() {
      if (removed) return;
      removed = true;
      runSync(pgCtl, ['stop', '-w', '-m', 'immediate', '-D', dataDir], dir, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
    async takeDown(mode = 'fast') {
      if (removed) throw new Error('this PostgreSQL was stopped for good');
      await pgCtlStop(mode);
    },
    async bringUp() {
      if (removed) throw new Error('this PostgreSQL was stopped for good');
      if (!up) await pgCtlStart();
    },
    async restart({ downForMs = 0, mode = 'fast' } = {}) {
      await handle.takeDown(mode);
      if (downForMs > 0) await sleep(downForMs);
      await handle.bringUp();
    },
    running: () => up,
  };
  return handle;
}

// ---------------------------------------------------------------------------------------------
// For test files

/** The URL of the suite's private PostgreSQL (started by global-setup), database leadrouter_test. */
export function testDatabaseUrl(): string {
  const url = process.env.LR_TEST_DATABASE_URL;
  if (!url) throw new Error('LR_TEST_DATABASE_URL is not set: run the tests with `npm test` (jest global setup starts a private PostgreSQL)');
  if (Number(new URL(url).port || THE_MACHINES_PORT) === THE_MACHINES_PORT) {
    throw new Error(`LR_TEST_DATABASE_URL (${url}) points at port 5432, the machine's own PostgreSQL: the tests only use their private one`);
  }
  return url;
}

export interface FreshDatabase {
  url: string;
  name: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/**
 * A new, empty, uniquely named database on the private server (the suite's by default, or the one
 * whose url is given), so that each test file has schema state of its own. Drop it in afterAll.
 */
export async function freshDatabase(serverUrl: string = testDatabaseUrl()): Promise<FreshDatabase> {
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${quoteIdentifier(name)}`));
  let dropped = false;
  return {
    url: urlWithDatabase(serverUrl, name),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`));
    },
  };
}
