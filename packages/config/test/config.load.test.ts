import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { BUNDLED_CONFIG_PATH, ConfigError, loadConfigFile, parseConfigText } from '../src/index.js';
import { EXAMPLE_ENV, problemLines } from './helpers.js';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const EXAMPLE_PATH = join(REPO_ROOT, 'config/leadrouter.example.yaml');
const DAY_MS = 24 * 60 * 60 * 1000;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lr-config-load-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('bundled default config', () => {
  test('is the file in config/ and loads with an empty environment', () => {
    expect(BUNDLED_CONFIG_PATH).toBe(join(REPO_ROOT, 'config/leadrouter.default.yaml'));
    const { file, config } = loadConfigFile(BUNDLED_CONFIG_PATH, {});
    expect(file).toBe(BUNDLED_CONFIG_PATH);
    expect(config.suppliers.map((s) => s.id)).toEqual(['demo']);
    expect(config.destinations.map((d) => d.id)).toEqual(['demo-buyer']);
    expect(config.routes.map((r) => r.id)).toEqual(['everything']);
    expect(config.dedupe).toEqual({ windowMs: 30 * DAY_MS, scope: 'supplier', by: ['phone'] });
    expect(config.retentionMs).toBe(30 * 86_400_000);
    expect(config.suppliers[0]?.keyDigests.map((d) => d.toString('hex'))).toEqual([sha256('demo-key-change-me')]);
  });
});

describe('example config (contract copy)', () => {
  test('loads when its env vars are given, with the values substituted', () => {
    const { config } = loadConfigFile(EXAMPLE_PATH, { ...EXAMPLE_ENV });
    const [buyerA, buyerB, buyerC] = config.destinations;
    expect(config.destinations.map((d) => d.id)).toEqual(['buyer-a', 'buyer-b', 'buyer-c', 'insurer-x']);
    expect(buyerA?.headers).toEqual({ Authorization: 'Bearer tok-a-123' });
    expect(buyerA?.postback?.token).toBe('pb-a-456');
    expect(buyerB?.url).toBe('https://buyer-b.example/leads?key=bkey-789');
    expect(buyerB?.postback?.token).toBe('pb-b-012');
    expect(buyerC?.url).toBe('https://buyer-c.example/intake');
    expect(buyerC?.postback?.secret).toBe('whsec_c2VjcmV0LWM=');
    // `{{field}}` templates are not env references and stay as written.
    expect(buyerA?.body).toEqual({ full_name: '{{name}}', phone_number: '{{phone}}', country: '{{geo}}', sub_id: '{{id}}' });
    // The supplier's key is substituted before hashing.
    expect(config.suppliers[0]?.apiKeys).toEqual(['acme-secret-key']);
    expect(config.suppliers[0]?.keyDigests.map((d) => d.toString('hex'))).toEqual([sha256('acme-secret-key')]);
    expect(config.suppliers[0]?.postbackUrl).toBe(
      'https://tracker.acme.example/postback?clickid={click_id}&status={status}&payout={payout}',
    );
    expect(config.dedupe).toEqual({ windowMs: 30 * DAY_MS, scope: 'supplier', by: ['phone'] });
    expect(config.retentionMs).toBe(30 * 86_400_000);
    expect(config.routes.map((r) => [r.id, r.strategy])).toEqual([
      ['north-america-social', 'weighted'],
      ['acme-solar', 'round_robin'],
      ['auto-insurance-us', 'auction'],
      ['home-services-us', 'auction'],
      ['everything-else', 'best_revenue'],
    ]);
    expect(config.routes[0]?.destinations).toEqual([
      { id: 'buyer-a', weight: 70 },
      { id: 'buyer-b', weight: 30 },
    ]);
    expect([...config.routedSources.keys()].sort()).toEqual(['bing', 'facebook', 'google', 'tiktok']);
    // The bidder's ping and the auction, with their defaults filled (contract §9).
    expect(config.destinations[3]?.ping).toMatchObject({ url: 'https://insurer-x.example/ping', method: 'POST', format: 'json', timeoutMs: 800, omit: ['street'], response: { bid: { path: 'price' }, reference: { path: 'ping_id' } } });
    expect(config.routes[2]?.auction).toEqual({ floor: 5, deadlineMs: 900, rank: 'expected', mode: 'exclusive', maxSales: 1, bidTtlMs: 60000 });
    expect(config.routes[0]?.auction).toBeUndefined();
  });

  test('one missing env var is one problem at the path of the value that uses it', () => {
    const env: Record<string, string> = { ...EXAMPLE_ENV };
    delete env.BUYER_A_TOKEN;
    expect(problemLines(() => loadConfigFile(EXAMPLE_PATH, env))).toEqual([
      'destinations[0].headers.Authorization: environment variable BUYER_A_TOKEN is not set',
    ]);
  });

  test('with no env at all every reference is reported (and the emptied required strings too)', () => {
    expect(problemLines(() => loadConfigFile(EXAMPLE_PATH, {}))).toEqual([
      'suppliers[0].apiKeys[0]: environment variable ACME_API_KEY is not set',
      'destinations[0].headers.Authorization: environment variable BUYER_A_TOKEN is not set',
      'destinations[0].postback.token: environment variable BUYER_A_POSTBACK_TOKEN is not set',
      'destinations[1].url: environment variable BUYER_B_KEY is not set',
      'destinations[1].postback.token: environment variable BUYER_B_POSTBACK_TOKEN is not set',
      'destinations[2].postback.secret: environment variable BUYER_C_WEBHOOK_SECRET is not set',
      'suppliers[0].apiKeys[0]: must NOT have fewer than 1 characters',
      'destinations[0].postback.token: must NOT have fewer than 1 characters',
      'destinations[1].postback.token: must NOT have fewer than 1 characters',
      'destinations[2].postback.secret: must match pattern "^whsec_"',
    ]);
  });

  test('the thrown error is a ConfigError naming the file', () => {
    let caught: unknown;
    try {
      loadConfigFile(EXAMPLE_PATH, { ...EXAMPLE_ENV, BUYER_B_KEY: undefined });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.code).toBe('LR_ERR_CONFIG');
    expect(err.file).toBe(EXAMPLE_PATH);
    // Line 67 of the example is buyer-b's `url:`.
    expect(err.message).toBe(
      `invalid config ${EXAMPLE_PATH}:\n  destinations[1].url: environment variable BUYER_B_KEY is not set (line 67)`,
    );
  });
});

describe('env substitution', () => {
  const yaml = (header: string): string => `
suppliers: [{ id: acme, apiKeys: [k1] }]
destinations:
  - id: buyer-a
    url: "https://buyer-a.example/\${PATH_PART}/leads"
    headers: { X-Key: "${header}" }
routes: [{ id: main, destinations: [{ id: buyer-a }] }]
`;

  test('replaces several references in one string and leaves $NAME without braces alone', () => {
    const config = parseConfigText(yaml('${USER_A}:${USER_B}-$USER_A'), { PATH_PART: 'v2', USER_A: 'alice', USER_B: 'bob' });
    expect(config.destinations[0]?.headers).toEqual({ 'X-Key': 'alice:bob-$USER_A' });
    expect(config.destinations[0]?.url).toBe('https://buyer-a.example/v2/leads');
  });

  test('an env var set to the empty string counts as set', () => {
    const config = parseConfigText(yaml('Bearer ${TOKEN}'), { PATH_PART: 'v2', TOKEN: '' });
    expect(config.destinations[0]?.headers).toEqual({ 'X-Key': 'Bearer ' });
  });

  test('each missing reference in a string is reported', () => {
    expect(problemLines(() => parseConfigText(yaml('${USER_A}:${USER_B}'), {}))).toEqual([
      'destinations[0].url: environment variable PATH_PART is not set',
      'destinations[0].headers.X-Key: environment variable USER_A is not set',
      'destinations[0].headers.X-Key: environment variable USER_B is not set',
    ]);
  });
});

describe('file formats and read errors', () => {
  const jsonConfig = {
    dedupe: { window: '12h', scope: 'global', by: ['phone', 'email'] },
    leads: { retentionDays: 7 },
    suppliers: [{ id: 'acme', apiKeys: ['${ACME_API_KEY}'] }],
    destinations: [{ id: 'buyer-a', url: 'https://buyer-a.example/leads', headers: { Authorization: 'Bearer ${BUYER_A_TOKEN}' } }],
    routes: [{ id: 'main', strategy: 'priority', destinations: [{ id: 'buyer-a' }] }],
  };

  test('a JSON config file loads, with env substitution', () => {
    const file = join(dir, 'leadrouter.json');
    writeFileSync(file, JSON.stringify(jsonConfig, null, 2));
    const { config } = loadConfigFile(file, { ...EXAMPLE_ENV });
    expect(config.dedupe).toEqual({ windowMs: 12 * 60 * 60 * 1000, scope: 'global', by: ['phone', 'email'] });
    expect(config.retentionMs).toBe(7 * 86_400_000);
    expect(config.destinations[0]?.headers).toEqual({ Authorization: 'Bearer tok-a-123' });
    expect(config.suppliers[0]?.keyDigests.map((d) => d.toString('hex'))).toEqual([sha256('acme-secret-key')]);
  });

  test('a JSON config reports problems at the same paths as YAML', () => {
    const bad = { ...jsonConfig, routes: [{ id: 'main', destinations: [{ id: 'buyer-z' }] }] };
    expect(problemLines(() => parseConfigText(JSON.stringify(bad), { ...EXAMPLE_ENV }))).toEqual([
      'routes[0].destinations[0].id: unknown destination "buyer-z"',
    ]);
  });

  test('a missing file is a ConfigError at the root', () => {
    const file = join(dir, 'does-not-exist.yaml');
    const lines = problemLines(() => loadConfigFile(file, {}));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^: cannot read file: ENOENT/);
  });

  test('a YAML syntax error names the line', () => {
    const lines = problemLines(() => parseConfigText('suppliers:\n  - id: acme\n    apiKeys: [k1\n', {}));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^line \d+: not valid YAML or JSON: /);
  });

  test('a duplicated key is a syntax error, not a silent override', () => {
    const lines = problemLines(() =>
      parseConfigText(
        'suppliers: [{ id: acme, apiKeys: [k1] }]\nsuppliers: [{ id: other, apiKeys: [k2] }]\ndestinations: []\nroutes: []\n',
        {},
      ),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^line 2: not valid YAML or JSON: Map keys must be unique/);
  });

  test('an empty file is one problem at the root', () => {
    expect(problemLines(() => parseConfigText('', {}))).toEqual([': must be object']);
  });
});
