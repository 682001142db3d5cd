import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { checkPhone } from '@leadrouter/lead';
import { freePort } from '@leadrouter/redis';
import { REPO_ROOT, spawnRole, testRedisUrl, uniquePrefix, waitFor, type RoleProcess } from '@leadrouter/testing';

const run = promisify(execFile);

/** Runs `command` the way a user pasting it does: in bash, where $RANDOM is new each time. */
async function bash(command: string): Promise<string> {
  return (await run('bash', ['-c', command], { timeout: 20_000 })).stdout;
}

/** The quick start's POST in README.md (its first screen), as one line, aimed at `port`. */
function readmeCurl(port: number): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start')));
  const lines = quickStart.split('\n');
  const first = lines.findIndex((l) => l.startsWith('curl -s -X POST'));
  expect(first).toBeGreaterThanOrEqual(0);
  const command: string[] = [];
  for (const line of lines.slice(first)) {
    command.push(line.replace(/\\$/, ''));
    if (!line.endsWith('\\')) break;
  }
  return command.join(' ').replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`);
}

/** The JSON body of a curl command (its -d argument), as the shell expands it `times` times. */
async function expandedBodies(curl: string, times: number): Promise<Array<{ phone: string; geo: string }>> {
  const body = curl.slice(curl.indexOf(" -d '") + 4);
  const out = await bash(`for i in $(seq ${times}); do printf '%s\\n' ${body}; done`);
  return out.trim().split('\n').map((l) => JSON.parse(l) as { phone: string; geo: string });
}

describe('the quick start (README first screen, and the banner of npm start)', () => {
  let aio: RoleProcess;
  let stdout = '';
  let intakePort = 0;
  beforeAll(async () => {
    intakePort = await freePort();
    aio = spawnRole(
      'all-in-one',
      {
        REDIS_URL: testRedisUrl(),
        LEADROUTER_PREFIX: uniquePrefix(),
        LEADROUTER_CONFIG: '',
        HOST: '127.0.0.1',
        INTAKE_PORT: String(intakePort),
        POSTBACK_PORT: String(await freePort()),
        WORKER_PORT: String(await freePort()),
      },
      'pipe',
    );
    aio.child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    await waitFor(() => (stdout.includes('demo supplier API key') ? true : undefined), 30_000, 'the banner');
  }, 40_000);
  afterAll(async () => {
    await aio.stop('SIGTERM');
  });

  const bannerCurl = (): string => {
    const line = stdout.split('\n').find((l) => l.trimStart().startsWith('curl -s -X POST'));
    expect(line).toBeDefined();
    return (line ?? '').trim();
  };

  test.each([
    ['the curl the banner prints', bannerCurl],
    ["the README's curl", () => readmeCurl(intakePort)],
  ])('%s sells a lead every time it is run, not only the first', async (_what, curl) => {
    for (let i = 0; i < 2; i++) {
      expect(JSON.parse(await bash(curl()))).toMatchObject({ status: 'accepted', result: 'delivered', payout: 10 });
    }
  }, 40_000);

  test.each([
    ['the banner', bannerCurl],
    ['the README', () => readmeCurl(intakePort)],
  ])('every phone that %s sends is a valid number for its geo', async (_what, curl) => {
    const bodies = await expandedBodies(curl(), 200);
    expect(new Set(bodies.map((b) => b.phone)).size).toBeGreaterThan(150);
    for (const { phone, geo } of bodies) expect({ phone, valid: checkPhone(phone, geo).ok }).toEqual({ phone, valid: true });
  });

  test('the banner repeats what the log says about an unsafe Redis (the suite\'s keeps nothing on disk)', () => {
    expect(stdout).toMatch(/"msg":"using Redis at redis:\/\/127\.0\.0\.1:\d+\/? \(external, from REDIS_URL\)"/);
    expect(stdout).toContain('  WARNING: Redis has no persistence');
  });
});
