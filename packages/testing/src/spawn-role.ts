import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

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
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', stdout, stdout === 'pipe' ? 'pipe' : 'inherit'],
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    exit,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}
