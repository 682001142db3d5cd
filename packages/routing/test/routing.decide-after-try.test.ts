import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { decideAfterTry, RETRY_AFTER_MAX_MS, type ReplyClass } from '../src/index.js';

const accepted: ReplyClass = { outcome: 'accepted' };
const rejected: ReplyClass = { outcome: 'rejected', detail: 'HTTP 422' };
const error: ReplyClass = { outcome: 'error', error: 'HTTP 503' };
const RETRY = { attempts: 2, backoffMs: 1000 };
const half = (): number => 0.5;
const outcome = (verdict: ReplyClass, extra: { ownFault?: boolean; retryAfterMs?: number } = {}) => ({ verdict, ownFault: extra.ownFault ?? false, retryAfterMs: extra.retryAfterMs });

describe('decideAfterTry (contract §4)', () => {
  test('an acceptance sells, on any try', () => {
    for (const attempt of [0, 1, 2, 5]) expect(decideAfterTry(outcome(accepted), attempt, RETRY, half)).toEqual({ action: 'sold' });
  });

  test('a rejection moves on at once, never retried', () => {
    expect(decideAfterTry(outcome(rejected), 0, RETRY, half)).toEqual({ action: 'next' });
  });

  test('an error is retried with exponential backoff and equal jitter, then moves on once the retries are used', () => {
    expect(decideAfterTry(outcome(error), 0, RETRY, half)).toEqual({ action: 'retry', delayMs: 750 });
    expect(decideAfterTry(outcome(error), 1, RETRY, half)).toEqual({ action: 'retry', delayMs: 1500 });
    expect(decideAfterTry(outcome(error), 2, RETRY, half)).toEqual({ action: 'next' });
    expect(decideAfterTry(outcome(error), 0, { attempts: 0, backoffMs: 1000 }, half)).toEqual({ action: 'next' });
  });

  test("a request of LeadRouter's own making that failed moves on at once: a retry would fail the same way", () => {
    expect(decideAfterTry(outcome(error, { ownFault: true }), 0, RETRY, half)).toEqual({ action: 'next' });
  });

  test('a Retry-After within bounds is honoured; a longer one moves on rather than holding the lead', () => {
    expect(decideAfterTry(outcome(error, { retryAfterMs: 5000 }), 0, RETRY, () => 0)).toEqual({ action: 'retry', delayMs: 5000 });
    expect(decideAfterTry(outcome(error, { retryAfterMs: RETRY_AFTER_MAX_MS + 1 }), 0, RETRY, half)).toEqual({ action: 'next' });
  });

  test('property: never more tries than 1 + retry.attempts, and a retry always waits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (attempts, backoffMs, r) => {
        let tries = 0;
        for (let attempt = 0; ; attempt++) {
          tries++;
          const next = decideAfterTry(outcome(error), attempt, { attempts, backoffMs }, () => r);
          if (next.action !== 'retry') break;
          expect(next.delayMs).toBeGreaterThanOrEqual(0);
        }
        expect(tries).toBe(attempts + 1);
      }),
    );
  });
});
