import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { parseRetryAfter, RETRY_AFTER_MAX_MS, retryDelayMs } from '../src/index.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const ALMOST_ONE = 1 - Number.EPSILON;
const CAP_MS = 300_000;

describe('parseRetryAfter', () => {
  test('delta-seconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('5', NOW)).toBe(5_000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
    expect(parseRetryAfter(['7', '9'], NOW)).toBe(7_000);
  });

  test('an HTTP date, relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:02:00 GMT', NOW)).toBe(120_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 11:59:00 GMT', NOW)).toBe(0);
  });

  test('absent or unreadable -> undefined', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('   ', NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  test('exponential growth with equal jitter: random 0 -> base/2, random ~1 -> base', () => {
    const backoff = 2_000;
    for (let retry = 1; retry <= 6; retry++) {
      const base = backoff * 2 ** (retry - 1);
      expect(retryDelayMs(retry, backoff, () => 0)).toBe(base / 2);
      expect(retryDelayMs(retry, backoff, () => ALMOST_ONE)).toBe(base);
      expect(retryDelayMs(retry, backoff, () => 0.5)).toBe((base * 3) / 4);
    }
    expect(retryDelayMs(1, 1_000, () => 0)).toBe(500);
    expect(retryDelayMs(2, 1_000, () => 0)).toBe(1_000);
    expect(retryDelayMs(3, 1_000, () => 0)).toBe(2_000);
  });

  test('capped', () => {
    expect(retryDelayMs(30, 2_000, () => ALMOST_ONE)).toBe(CAP_MS);
    expect(retryDelayMs(30, 2_000, () => 0)).toBe(CAP_MS / 2);
    expect(retryDelayMs(2, 3_600_000, () => ALMOST_ONE)).toBe(CAP_MS);
  });

  test('within [base/2, base] for any draw (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, backoff, x) => {
          const base = Math.min(CAP_MS, backoff * 2 ** (retry - 1));
          const delay = retryDelayMs(retry, backoff, () => x);
          expect(typeof delay).toBe('number');
          expect(delay).toBeGreaterThanOrEqual(Math.floor(base / 2));
          expect(delay).toBeLessThanOrEqual(Math.ceil(base));
          expect(delay).toBeLessThanOrEqual(CAP_MS);
        },
      ),
      { seed: 11, numRuns: 500 },
    );
  });

  test('never shrinks from one retry to the next for the same draw (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (retry, backoff, x) => {
        const a = retryDelayMs(retry, backoff, () => x) as number;
        const b = retryDelayMs(retry + 1, backoff, () => x) as number;
        expect(b).toBeGreaterThanOrEqual(a);
      }),
      { seed: 12, numRuns: 300 },
    );
  });

  test('Retry-After within 60 s is honoured (waits at least that long, a little jitter on top)', () => {
    expect(RETRY_AFTER_MAX_MS).toBe(60_000);
    expect(retryDelayMs(1, 2_000, () => 0, 30_000)).toBe(30_000);
    const high = retryDelayMs(1, 2_000, () => ALMOST_ONE, 30_000);
    expect(high).toBeGreaterThanOrEqual(30_000);
    expect(high).toBeLessThanOrEqual(31_000);
    expect(retryDelayMs(5, 2_000, () => 0, 0)).toBe(0);
    expect(retryDelayMs(1, 2_000, () => 0, 60_000)).toBe(60_000);
    // Retry-After replaces the backoff even when the backoff would be longer
    expect(retryDelayMs(10, 60_000, () => 0, 5_000)).toBe(5_000);
  });

  test('Retry-After beyond 60 s -> give_up', () => {
    expect(retryDelayMs(1, 2_000, () => 0, 60_001)).toBe('give_up');
    expect(retryDelayMs(1, 2_000, () => 0.5, 3_600_000)).toBe('give_up');
    expect(retryDelayMs(1, 2_000, () => 0, parseRetryAfter('120', NOW))).toBe('give_up');
    expect(retryDelayMs(1, 2_000, () => 0, parseRetryAfter('Wed, 25 Nov 2026 12:00:45 GMT', NOW))).toBe(45_000);
  });
});
