import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '@leadrouter/redis';
import { testRedisUrl, uniquePrefix } from './redis.js';

/** The repository root: roles run from there, as `npm run start:*` runs them. */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface RoleProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  exit: Promise<number | null>;
  /** Sends `signal` unless the process has exited already, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts one of LeadRouter's processes (`apps/<app>/src/main.ts`) as its own OS process, exactly as
 * the npm start scripts do (`node --import tsx`), with `env` on top of this one's environment.
 */
export function spawnRole(app: string, env: Record<string, string>, stdout: 'ignore' | 'pipe' = 'ignore'): RoleProcess {
  // An all-in-one keeps an embedded ledger (PGlite) in a directory: each spawned one gets its own,
  // so tests running side by side never share one, and nothing is left under the repository.
  const ledgerDir = app === 'all-in-one' && !env.DATABASE_URL && !env.LEADROUTER_LEDGER_DIR ? mkdtempSync(join(tmpdir(), 'lr-ledger-')) : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...(ledgerDir ? { LEADROUTER_LEDGER_DIR: ledgerDir } : {}), ...env },
    stdio: ['ignore', stdout, stdout === 'pipe' ? 'pipe' : 'inherit'],
  });
  const exit = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      if (ledgerDir) rmSync(ledgerDir, { recursive: true, force: true });
      r(code);
    }),
  );
  return {
    child,
    exit,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

export interface AllInOneProcess extends RoleProcess {
  ports: { intake: number; postback: number; worker: number };
}

/**
 * `npm start` as its own process on the suite's private Redis, on the bundled demo config unless
 * `env` says otherwise: a fresh key prefix, loopback, and free ports for its three servers.
 */
export async function spawnAllInOne(env: Record<string, string> = {}, stdout: 'ignore' | 'pipe' = 'ignore'): Promise<AllInOneProcess> {
  const ports = { intake: await freePort(), postback: await freePort(), worker: await freePort() };
  const role = spawnRole(
    'all-in-one',
    {
      REDIS_URL: testRedisUrl(),
      LEADROUTER_PREFIX: uniquePrefix(),
      LEADROUTER_CONFIG: '',
      HOST: '127.0.0.1',
      INTAKE_PORT: String(ports.intake),
      POSTBACK_PORT: String(ports.postback),
      WORKER_PORT: String(ports.worker),
      ...env,
    },
    stdout,
  );
  return { ...role, ports };
}
