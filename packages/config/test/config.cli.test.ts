import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

/** `npx tsx packages/config/src/cli.ts FILE`; npm's own warnings are dropped from stderr. */
function runCli(file: string): { status: number | null; stdout: string[]; stderr: string[] } {
  const result = spawnSync('npx', ['tsx', 'packages/config/src/cli.ts', file], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, LEADROUTER_CONFIG: undefined },
  });
  const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn'));
  return { status: result.status, stdout: lines(result.stdout), stderr: lines(result.stderr) };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lr-config-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('config:check CLI', () => {
  test('a good file: exit 0 and OK with counts', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(
      file,
      `suppliers: [{ id: acme, apiKeys: [k1] }, { id: beta, apiKeys: [k2] }]
destinations: [{ id: buyer-a, url: "https://buyer-a.example/" }]
routes: [{ id: main, destinations: [{ id: buyer-a }] }]
`,
    );
    const { status, stdout, stderr } = runCli(file);
    expect(stderr).toEqual([]);
    expect(stdout).toEqual([`${file}: OK (2 suppliers, 1 destinations, 1 routes)`]);
    expect(status).toBe(0);
  });

  test('a bad file with two problems: exit 1 and both listed with their paths', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `suppliers: [{ id: acme, apiKeys: [k1] }]
destinations:
  - { id: buyer-a, url: "https://buyer-a.example/", schedule: { timezone: Nowhere/City } }
routes:
  - { id: main, destinations: [{ id: buyer-a }] }
  - { id: other, destinations: [{ id: buyer-z }] }
`,
    );
    const { status, stdout, stderr } = runCli(file);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([
      `${file}: 2 problems`,
      'destinations[0].schedule.timezone: unknown timezone "Nowhere/City" (line 3)',
      'routes[1].destinations[0].id: unknown destination "buyer-z" (line 6)',
    ]);
    expect(status).toBe(1);
  });

  test('schema errors and cross-check problems together: all listed with lines, exit 1', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(
      file,
      `suppliers: [{ id: acme, apiKeys: [k1] }]
destinations:
  - id: buyer-a
    url: "https://buyer-a.example/"
    timeoutMS: 8000
    schedule: { timezone: Nowhere/City }
routes:
  - { id: main, destinations: [{ id: buyer-z }] }
`,
    );
    const { status, stdout, stderr } = runCli(file);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([
      `${file}: 3 problems`,
      'destinations[0].timeoutMS: unknown key, did you mean "timeoutMs"? (line 5)',
      'destinations[0].schedule.timezone: unknown timezone "Nowhere/City" (line 6)',
      'routes[0].destinations[0].id: unknown destination "buyer-z" (line 8)',
    ]);
    expect(status).toBe(1);
  });

  test('no such file: exit 1', () => {
    const file = join(dir, 'missing.yaml');
    const { status, stdout, stderr } = runCli(file);
    expect(stdout).toEqual([]);
    expect(stderr[0]).toBe(`${file}: 1 problem`);
    expect(stderr[1]).toMatch(/^\(root\): cannot read file: ENOENT/);
    expect(stderr).toHaveLength(2);
    expect(status).toBe(1);
  });
});
