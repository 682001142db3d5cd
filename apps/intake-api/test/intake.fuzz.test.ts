import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { ALPHA_KEY, startTestIntake, type TestIntake } from './helpers.js';

/**
 * Fuzzing the running intake: arbitrary JSON, form bodies, byte strings and headers. Never a 500,
 * never a hang (each request must answer within 5 s), always a JSON answer of the contract, and
 * never a lead stored by a request that was not answered 202.
 */
const ANSWERS = new Set([202, 400, 401, 409, 413, 415, 429]);

const contentType = fc.oneof(
  fc.constant('application/json'),
  fc.constant('application/json; charset=utf-8'),
  fc.constant('application/x-www-form-urlencoded'),
  fc.constant('text/plain'),
  fc.string({ maxLength: 40 }),
);

const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .dictionary(fc.oneof(fc.constantFrom('name', 'phone', 'geo', 'source', 'email', 'ip', '__proto__', 'constructor'), fc.string({ maxLength: 20 })), fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant(null)))
    .map((d) => Buffer.from(JSON.stringify(d))),
  fc
    .dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 }))
    .map((d) => Buffer.from(new URLSearchParams(d).toString())),
  fc.string({ maxLength: 200, unit: 'binary' }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  // Near-valid leads with one field mutated: the cases most likely to slip through.
  fc
    .record({
      name: fc.oneof(fc.constant('Jane Roe'), fc.string({ maxLength: 210 })),
      phone: fc.oneof(fc.constant('+14155552671'), fc.string({ maxLength: 20 }), fc.integer()),
      geo: fc.oneof(fc.constant('US'), fc.string({ maxLength: 3 })),
      source: fc.oneof(fc.constant('Facebook'), fc.string({ maxLength: 5 })),
    })
    .map((r) => Buffer.from(JSON.stringify(r))),
);

const headers = fc.record(
  {
    'x-api-key': fc.oneof(fc.constant(ALPHA_KEY), fc.string({ maxLength: 30 })),
    'idempotency-key': fc.string({ minLength: 1, maxLength: 300 }),
    'content-encoding': fc.constantFrom('gzip', 'identity', 'br'),
  },
  { requiredKeys: ['x-api-key'] },
);

describe('intake fuzzing (fast-check against the running intake)', () => {
  let intake: TestIntake;
  beforeAll(async () => {
    intake = await startTestIntake();
  });
  afterAll(async () => {
    await intake.close();
  });

  test('arbitrary bodies, content types and headers: a contract answer, never a 500, never a lead from a 4xx', async () => {
    const accepted = new Set<string>();
    await fc.assert(
      fc.asyncProperty(body, contentType, headers, async (payload, type, extra) => {
        const clean = Object.fromEntries(Object.entries(extra).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(String(v))));
        const res = await fetch(`${intake.url}/v1/leads`, {
          method: 'POST',
          headers: { ...clean, 'content-type': /^[\t\x20-\x7e]*$/.test(type) ? type : 'text/plain' },
          body: payload,
          signal: AbortSignal.timeout(5000),
        });
        expect(ANSWERS.has(res.status)).toBe(true);
        const answer = (await res.json()) as { status?: string; id?: string; reason?: string };
        if (res.status === 202) {
          expect(answer.status).toBe('accepted');
          accepted.add(answer.id as string);
        } else {
          expect(answer.status).toBe('rejected');
          expect(typeof answer.reason).toBe('string');
        }
        // Every stored lead is one that was answered 202 (idempotent replays answer the same id).
        expect(await intake.storedLeadCount()).toBe(accepted.size);
      }),
      { numRuns: 400, seed: 20261125 },
    );
  }, 120_000);
});
