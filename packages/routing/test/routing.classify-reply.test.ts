import { describe, expect, test } from '@jest/globals';
import type { DestinationConfig } from '@leadrouter/config';
import { classifyReply, type Reply, type ReplyClass } from '../src/index.js';

type Rules = NonNullable<DestinationConfig['response']>;

function reply(status: number, body: string | object = '', truncated = false): Reply {
  return { status, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), truncated };
}
const outcome = (c: ReplyClass): string => c.outcome;

/** The contract's example (leadrouter.example.yaml, buyer-a). */
const EXAMPLE: Rules = {
  accept: { status: [200, 201], path: 'result', equals: 'success' },
  reject: { status: [200, 400, 409, 422], path: 'result', in: ['rejected', 'duplicate'] },
};
const HTML = '<html><body>Service temporarily unavailable</body></html>';

describe('classifyReply: defaults (no rules)', () => {
  test.each([
    [200, 'accepted'],
    [201, 'accepted'],
    [202, 'accepted'],
    [204, 'accepted'],
    [400, 'rejected'],
    [401, 'rejected'],
    [404, 'rejected'],
    [409, 'rejected'],
    [422, 'rejected'],
    [408, 'error'],
    [429, 'error'],
    [500, 'error'],
    [502, 'error'],
    [503, 'error'],
    [100, 'error'],
    [301, 'error'],
    [302, 'error'],
    [307, 'error'],
  ])('HTTP %i -> %s', (status, expected) => {
    expect(outcome(classifyReply(undefined, reply(status, 'whatever')))).toBe(expected);
    expect(outcome(classifyReply({}, reply(status, { ok: true })))).toBe(expected);
  });

  test('a redirect is an error that says so', () => {
    for (const status of [301, 302]) {
      const c = classifyReply(undefined, reply(status));
      expect(c.outcome).toBe('error');
      expect(c.outcome === 'error' && c.error).toMatch(/redirect/i);
    }
  });

  test('a redirect stays an error even when a rule names its status', () => {
    const c = classifyReply({ accept: { status: [200, 302], path: 'result', equals: 'success' } }, reply(302, HTML));
    expect(c.outcome).toBe('error');
  });
});

describe('classifyReply: the contract example rules', () => {
  test.each<[string, string, Reply]>([
    ['200 success', 'accepted', reply(200, { result: 'success' })],
    ['201 success', 'accepted', reply(201, { result: 'success' })],
    ['200 duplicate', 'rejected', reply(200, { result: 'duplicate' })],
    ['200 rejected', 'rejected', reply(200, { result: 'rejected' })],
    // The body was read and the buyer did not say yes: a rejection (contract §4), sent once.
    ['200 error', 'rejected', reply(200, { result: 'error' })],
    ['200 no result field', 'rejected', reply(200, { ok: true })],
    ['200 HTML', 'error', reply(200, HTML)],
    ['200 empty body', 'error', reply(200, '')],
    ['202 success (status outside the accept rule)', 'error', reply(202, { result: 'success' })],
    ['400 rejected', 'rejected', reply(400, { result: 'rejected' })],
    ['409 duplicate', 'rejected', reply(409, { result: 'duplicate' })],
    ['400 HTML (status named by a rule, body unreadable)', 'error', reply(400, HTML)],
    ['422 HTML', 'error', reply(422, HTML)],
    ['404 HTML (no rule names it: default)', 'rejected', reply(404, HTML)],
    ['500 success-looking body', 'error', reply(500, { result: 'success' })],
    ['429', 'error', reply(429, { result: 'rejected' })],
    ['200 success but truncated', 'error', reply(200, '{"result":"success","pad":"', true)],
    ['200 full JSON but flagged truncated', 'error', reply(200, { result: 'success' }, true)],
    ['400 rejected but truncated', 'error', reply(400, { result: 'rejected' }, true)],
  ])('%s -> %s', (_name, expected, r) => {
    expect(outcome(classifyReply(EXAMPLE, r))).toBe(expected);
  });
});

describe('classifyReply: rule forms', () => {
  test('equals compares scalars; numbers and their text match', () => {
    const rules: Rules = { accept: { status: [200], path: 'code', equals: 1 } };
    expect(outcome(classifyReply(rules, reply(200, { code: 1 })))).toBe('accepted');
    expect(outcome(classifyReply(rules, reply(200, { code: '1' })))).toBe('accepted');
    expect(outcome(classifyReply(rules, reply(200, { code: 2 })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { code: [1] })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { code: { v: 1 } })))).toBe('rejected');
  });

  test('equals: true / false / null', () => {
    expect(outcome(classifyReply({ accept: { path: 'ok', equals: true } }, reply(200, { ok: true })))).toBe('accepted');
    expect(outcome(classifyReply({ accept: { path: 'ok', equals: true } }, reply(200, { ok: false })))).toBe('rejected');
    expect(outcome(classifyReply({ reject: { status: [200], path: 'id', equals: null } }, reply(200, { id: null })))).toBe('rejected');
    expect(outcome(classifyReply({ reject: { status: [200], path: 'id', equals: null } }, reply(200, { id: 'x' })))).toBe('error');
  });

  test('matches is a regular expression on a scalar', () => {
    const rules: Rules = {
      accept: { status: [200], path: 'message', matches: '^(ok|accepted)\\b' },
      reject: { status: [200], path: 'message', matches: 'dup(licate)?' },
    };
    expect(outcome(classifyReply(rules, reply(200, { message: 'accepted lead 42' })))).toBe('accepted');
    expect(outcome(classifyReply(rules, reply(200, { message: 'ok' })))).toBe('accepted');
    expect(outcome(classifyReply(rules, reply(200, { message: 'not ok' })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { message: 'lead is a duplicate' })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { message: { text: 'ok' } })))).toBe('rejected');
    expect(outcome(classifyReply({ accept: { path: 'n', matches: '^4\\d$' } }, reply(200, { n: 42 })))).toBe('accepted');
  });

  test('nested path data.status and array index', () => {
    const rules: Rules = { accept: { status: [200], path: 'data.status', in: ['ok', 'queued'] } };
    expect(outcome(classifyReply(rules, reply(200, { data: { status: 'queued' } })))).toBe('accepted');
    expect(outcome(classifyReply(rules, reply(200, { data: { status: 'failed' } })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { status: 'ok' })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { data: 'ok' })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { data: null })))).toBe('rejected');
    const indexed: Rules = { accept: { path: 'items.0.state', equals: 'ok' } };
    expect(outcome(classifyReply(indexed, reply(200, { items: [{ state: 'ok' }] })))).toBe('accepted');
    expect(outcome(classifyReply(indexed, reply(200, { items: [] })))).toBe('rejected');
  });

  test('prototype paths never match', () => {
    const body = { result: 'success' };
    const cases: Rules['accept'][] = [
      { path: 'constructor', matches: '.' },
      { path: 'constructor.name', equals: 'Object' },
      { path: '__proto__', matches: '.' },
      { path: '__proto__.constructor.name', equals: 'Object' },
      { path: 'toString', matches: 'function' },
      { path: 'result.length', equals: 7 },
      { path: 'hasOwnProperty.name', equals: 'hasOwnProperty' },
    ];
    for (const accept of cases) {
      // Never an acceptance: the parsed body does not satisfy the rule, so the buyer said no.
      expect(outcome(classifyReply({ accept }, reply(200, body)))).toBe('rejected');
      expect(outcome(classifyReply({ reject: { status: [200], ...accept } }, reply(200, body)))).toBe('error');
    }
  });

  test('a rule without status covers 2xx (accept)', () => {
    const rules: Rules = { accept: { path: 'result', equals: 'success' } };
    expect(outcome(classifyReply(rules, reply(202, { result: 'success' })))).toBe('accepted');
    expect(outcome(classifyReply(rules, reply(200, { result: 'nope' })))).toBe('rejected');
    // outside 2xx the accept rule does not apply: defaults
    expect(outcome(classifyReply(rules, reply(400, { result: 'success' })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(500, { result: 'success' })))).toBe('error');
  });

  test('a rule without path holds on status alone', () => {
    const rules: Rules = { accept: { status: [200, 202] }, reject: { status: [200, 500] } };
    expect(outcome(classifyReply(rules, reply(202, HTML)))).toBe('accepted');
    expect(outcome(classifyReply(rules, reply(500, HTML)))).toBe('rejected');
    // accept wins over reject when both name the status
    expect(outcome(classifyReply(rules, reply(200, HTML)))).toBe('accepted');
    // an accept rule is given: a 2xx outside it is not accepted by default
    expect(outcome(classifyReply(rules, reply(201, HTML)))).toBe('error');
  });

  test('the rejected and error results carry a description', () => {
    const rejected = classifyReply(undefined, reply(422));
    expect(rejected).toEqual({ outcome: 'rejected', detail: expect.stringContaining('422') });
    const error = classifyReply(undefined, reply(503));
    expect(error).toEqual({ outcome: 'error', error: expect.stringContaining('503') });
  });
});

describe('classifyReply: a rule without status', () => {
  const rules: DestinationConfig['response'] = { reject: { path: 'result', equals: 'duplicate' } };

  test('a reject rule without status that does not hold leaves the defaults in force', () => {
    expect(classifyReply(rules, reply(200, { result: 'ok' }))).toEqual({ outcome: 'accepted' });
    expect(classifyReply(rules, reply(400, 'not json')).outcome).toBe('rejected');
    expect(classifyReply(rules, reply(500, { result: 'ok' })).outcome).toBe('error');
  });

  test('a reject rule without status that holds rejects whatever the status', () => {
    expect(classifyReply(rules, reply(200, { result: 'duplicate' })).outcome).toBe('rejected');
  });

  test('an accept rule without status covers 2xx only: a readable no is a rejection, an unreadable 2xx an error', () => {
    const accept: DestinationConfig['response'] = { accept: { path: 'ok', equals: true } };
    expect(classifyReply(accept, reply(201, { ok: true }))).toEqual({ outcome: 'accepted' });
    expect(classifyReply(accept, reply(200, { ok: false })).outcome).toBe('rejected');
    expect(classifyReply(accept, reply(200, HTML)).outcome).toBe('error');
    expect(classifyReply(accept, reply(200, { ok: true }, true)).outcome).toBe('error');
    expect(classifyReply(accept, reply(422, { ok: true })).outcome).toBe('rejected');
  });
});

describe('classifyReply: the contract example of a buyer that says no in a 200', () => {
  test('200 {"result":"rejected"} against accept {path: result, equals: success} is a rejection with a description', () => {
    const c = classifyReply({ accept: { path: 'result', equals: 'success' } }, reply(200, { result: 'rejected' }));
    expect(c).toEqual({ outcome: 'rejected', detail: expect.stringContaining('accept rule') });
  });
});

describe('classifyReply: matches runs in linear time (a buyer cannot freeze the worker)', () => {
  test('^(a+)+$ against 64 KiB of a buyer reply answers, and the answer is right', () => {
    const rules: Rules = { accept: { path: 'm', matches: '^(a+)+$' } };
    // JavaScript's RegExp backtracks exponentially here: 27 characters take seconds, 64 KiB for ever.
    expect(outcome(classifyReply(rules, reply(200, { m: `${'a'.repeat(64 * 1024 - 16)}!` })))).toBe('rejected');
    expect(outcome(classifyReply(rules, reply(200, { m: 'a'.repeat(1000) })))).toBe('accepted');
  });
});
