import { createHash } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { keyDigest, parseDurationMs, resolveConfig, sha256Hex, validateConfig } from '../src/index.js';
import { minimalConfig, problemLines } from './helpers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('parseDurationMs', () => {
  test.each([
    ['30d', 30 * DAY],
    ['12h', 12 * HOUR],
    ['15m', 15 * MINUTE],
    ['10s', 10_000],
    ['250ms', 250],
    ['0', 0],
    [0, 0],
  ] as const)('%p -> %p ms', (input, expected) => {
    expect(parseDurationMs(input)).toBe(expected);
  });

  test.each(['', '30', '1w', '-1d', '1.5h', '30 d', 'd', '12H', '0x'])('%p throws', (input) => {
    expect(() => parseDurationMs(input)).toThrow(`not a duration: "${input}" (use e.g. 30d, 12h, 15m, 0)`);
  });

  test('a number other than 0 throws', () => {
    expect(() => parseDurationMs(30)).toThrow('not a duration: "30"');
  });

  test('the schema rejects a bad dedupe window at its path', () => {
    const config = { ...minimalConfig(), dedupe: { window: '1w' } };
    expect(problemLines(() => validateConfig(config, {}))).toEqual([
      'dedupe.window: must be a duration such as 30d, 12h, 15m or 0',
    ]);
  });
});

describe('resolveConfig defaults', () => {
  test('no dedupe and no leads section -> 30d, supplier, [phone]; retentionDays 30', () => {
    const resolved = validateConfig(minimalConfig(), {});
    expect(resolved.dedupe).toEqual({ windowMs: 30 * DAY, scope: 'supplier', by: ['phone'] });
    expect(resolved.retentionMs).toBe(30 * 86_400_000);
  });

  test('a partial dedupe section keeps the other defaults', () => {
    expect(validateConfig({ ...minimalConfig(), dedupe: { scope: 'global' } }, {}).dedupe).toEqual({
      windowMs: 30 * DAY,
      scope: 'global',
      by: ['phone'],
    });
    expect(validateConfig({ ...minimalConfig(), dedupe: { window: '15m', by: ['email'] } }, {}).dedupe).toEqual({
      windowMs: 15 * MINUTE,
      scope: 'supplier',
      by: ['email'],
    });
  });

  test('window 0 (number or string) turns dedupe off', () => {
    expect(validateConfig({ ...minimalConfig(), dedupe: { window: 0 } }, {}).dedupe.windowMs).toBe(0);
    expect(validateConfig({ ...minimalConfig(), dedupe: { window: '0' } }, {}).dedupe.windowMs).toBe(0);
  });

  test('a fraction of a day is a retention in whole milliseconds', () => {
    expect(validateConfig({ ...minimalConfig(), leads: { retentionDays: 0.001 } }, {}).retentionMs).toBe(86_400);
    expect(validateConfig({ ...minimalConfig(), leads: { retentionDays: 1 / 3 } }, {}).retentionMs).toBe(28_800_000);
  });

  test('retentionDays given is kept', () => {
    expect(validateConfig({ ...minimalConfig(), leads: { retentionDays: 7 } }, {}).retentionMs).toBe(7 * 86_400_000);
    expect(validateConfig({ ...minimalConfig(), leads: {} }, {}).retentionMs).toBe(30 * 86_400_000);
  });

  test('the default `by` list is a fresh array each time', () => {
    const first = resolveConfig(minimalConfig());
    first.dedupe.by.push('email');
    expect(resolveConfig(minimalConfig()).dedupe.by).toEqual(['phone']);
  });

  test('routedSources maps the lower-cased sources of every route to the first spelling in the config', () => {
    const config = minimalConfig();
    config.routes[0]!.match = { source: ['Facebook', 'TikTok'] };
    config.routes.push({ id: 'b', match: { source: ['facebook', 'Google'] }, destinations: [{ id: 'buyer-b' }] });
    expect([...resolveConfig(config).routedSources].sort()).toEqual([
      ['facebook', 'Facebook'],
      ['google', 'Google'],
      ['tiktok', 'TikTok'],
    ]);
  });
});

describe('API key digests', () => {
  test('plain keys are hashed; sha256: keys are taken as given (either hex case)', () => {
    const config = minimalConfig();
    config.suppliers[0]!.apiKeys = ['plain-key', `sha256:${sha256('hashed-key')}`, `sha256:${sha256('upper-key').toUpperCase()}`];
    const resolved = validateConfig(config, {});
    expect(resolved.suppliers[0]?.keyDigests.map((d) => d.toString('hex'))).toEqual([
      sha256('plain-key'),
      sha256('hashed-key'),
      sha256('upper-key'),
    ]);
    expect(resolved.suppliers[0]?.keyDigests.every((d) => d.length === 32)).toBe(true);
    // The configured keys themselves are kept as written.
    expect(resolved.suppliers[0]?.apiKeys[0]).toBe('plain-key');
  });

  test('keyDigest and sha256Hex agree with node:crypto', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(keyDigest('abc').toString('hex')).toBe(sha256('abc'));
    expect(keyDigest(`sha256:${sha256('abc')}`).equals(keyDigest('abc'))).toBe(true);
  });
});
