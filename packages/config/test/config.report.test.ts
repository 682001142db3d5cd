/**
 * How problems are reported: all of them in one run (schema errors and cross-checks together),
 * each with the line of the file it is on, and a "did you mean" for a misspelled key.
 */
import { describe, expect, test } from '@jest/globals';
import { ConfigError, formatProblem, parseConfigText, validateConfig } from '../src/index.js';
import { closestKey, editDistance } from '../src/suggest.js';

/** Runs `load`, which must reject its config, and returns the problems as the CLI prints them. */
function printedProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem);
    throw err;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}
/** Problems of a config file's text: these have lines. */
const reported = (text: string): string[] => printedProblems(() => parseConfigText(text, {}));
/** Problems of an object: no file, so no lines. */
const problemsOf = (config: unknown): string[] => printedProblems(() => validateConfig(config, {}));

/** The lines of a YAML file, numbered as an editor shows them: the first one is line 1. */
const yamlFile = (...lines: string[]): string => `${lines.join('\n')}\n`;

describe('schema errors and cross-check problems in one run', () => {
  test('a misspelled key, a bad timezone and an unknown destination are all reported, with lines', () => {
    const text = yamlFile(
      'suppliers:', //                             1
      '  - id: acme', //                           2
      '    apiKeys: [k1]', //                      3
      'destinations:', //                          4
      '  - id: buyer-a', //                        5
      '    url: "https://buyer-a.example/leads"', // 6
      '    timeoutMS: 8000', //                    7
      '    schedule:', //                          8
      '      timezone: Mars/Olympus_Mons', //      9
      'routes:', //                                10
      '  - id: main', //                           11
      '    destinations:', //                      12
      '      - id: buyer-a', //                    13
      '      - id: buyer-z', //                    14
    );
    expect(reported(text)).toEqual([
      'destinations[0].timeoutMS: unknown key, did you mean "timeoutMs"? (line 7)',
      'destinations[0].schedule.timezone: unknown timezone "Mars/Olympus_Mons" (line 9)',
      'routes[0].destinations[1].id: unknown destination "buyer-z" (line 14)',
    ]);
  });

  test('the error a process stops with at startup lists them all too, with lines', () => {
    const text = yamlFile(
      'suppliers: [{ id: acme, apiKeys: [k1] }]',
      'destinations: [{ id: buyer-a, url: "https://a.example/", colour: red }]',
      'routes: [{ id: main, destinations: [{ id: buyer-z }] }]',
    );
    expect(() => parseConfigText(text, {}, '/etc/leadrouter.yaml')).toThrow(
      'invalid config /etc/leadrouter.yaml:\n' +
        '  destinations[0].colour: unknown key (line 2)\n' +
        '  routes[0].destinations[0].id: unknown destination "buyer-z" (line 3)',
    );
  });

  test('a wrong type in one section does not hide problems in the others', () => {
    const text = yamlFile(
      'dedup: { window: 1d }', //                                        1
      'suppliers:', //                                                   2
      '  - { id: acme, apiKeys: [k1], rateLimit: { perSecond: 10, burst: 5 } }', // 3
      '  - { id: beta, apiKeys: [k1] }', //                              4
      'destinations:', //                                                5
      '  - { id: buyer-a, url: "https://a.example/", retry: { attempts: "3" } }', // 6
      'routes:', //                                                      7
      '  - { id: main, destinations: [{ id: buyer-a }], fallback: [nope] }', // 8
    );
    expect(reported(text)).toEqual([
      'dedup: unknown key, did you mean "dedupe"? (line 1)',
      'destinations[0].retry.attempts: must be integer (line 6)',
      'suppliers[0].rateLimit.burst: burst must be at least perSecond (line 3)',
      'suppliers[1].apiKeys[0]: API key is also used by supplier "acme" (line 4)',
      'routes[0].fallback[0]: unknown destination "nope" (line 8)',
    ]);
  });

  test('a section the schema rejects as a whole is not also the cause of an "unknown" for every reference to it', () => {
    const config = {
      suppliers: { id: 'acme', apiKeys: ['k1'] },
      destinations: [{ id: 'buyer-a', url: 'https://a.example/' }],
      routes: [{ id: 'main', match: { supplier: ['acme'] }, destinations: [{ id: 'buyer-a' }, { id: 'buyer-z' }] }],
    };
    expect(problemsOf(config)).toEqual(['suppliers: must be array', 'routes[0].destinations[1].id: unknown destination "buyer-z"']);
  });

  test('a strategy the schema rejects says nothing about weights; a destination without url still counts as known', () => {
    const config = {
      suppliers: [{ id: 'acme', apiKeys: ['k1'] }],
      destinations: [{ id: 'buyer-a' }, { id: 'buyer-b', url: 'https://b.example/', schedule: { timezone: 'Nowhere/City', from: '9:00' } }],
      routes: [{ id: 'main', strategy: 'weightd', destinations: [{ id: 'buyer-a', weight: 2 }, { id: 'buyer-c' }] }],
    };
    expect(problemsOf(config)).toEqual([
      'destinations[0].url: is required',
      'destinations[1].schedule.from: must match pattern "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"',
      'routes[0].strategy: must be one of "priority", "weighted", "round_robin", "best_revenue", "auction"',
      'destinations[1].schedule.timezone: unknown timezone "Nowhere/City"',
      'routes[0].destinations[1].id: unknown destination "buyer-c"',
    ]);
  });

  test('a response rule whose path the schema rejects is not also reported as having no path', () => {
    const config = {
      suppliers: [{ id: 'acme', apiKeys: ['k1'] }],
      destinations: [
        { id: 'buyer-a', url: 'https://a.example/', response: { accept: { path: '', equals: 'ok' }, reject: { in: ['no'] } } },
      ],
      routes: [{ id: 'main', destinations: [{ id: 'buyer-a' }] }],
    };
    expect(problemsOf(config)).toEqual([
      'destinations[0].response.accept.path: must NOT have fewer than 1 characters',
      'destinations[0].response.reject: in needs a path',
    ]);
  });
});

describe('line numbers', () => {
  test('a missing required key is on the line of the object that lacks it; the root has no line', () => {
    const text = yamlFile(
      'suppliers:', //                1
      '  - id: acme', //              2
      'destinations:', //             3
      '  - id: buyer-a', //           4
      '    url: "https://a.example/"', // 5
    );
    expect(reported(text)).toEqual(['routes: is required', 'suppliers[0].apiKeys: is required (line 2)']);
  });

  test('an unset env var in a body key with dots is on that key\'s line', () => {
    const text = yamlFile(
      'suppliers: [{ id: acme, apiKeys: [k1] }]', //  1
      'destinations:', //                             2
      '  - id: buyer-a', //                           3
      '    url: "https://a.example/"', //             4
      '    body:', //                                 5
      '      applicant.name: "{{name}}"', //          6
      '      applicant.ref: "${REF_PREFIX}-{{id}}"', // 7
      'routes: [{ id: main, destinations: [{ id: buyer-a }] }]', // 8
    );
    expect(reported(text)).toEqual(['destinations[0].body.applicant.ref: environment variable REF_PREFIX is not set (line 7)']);
  });

  test('a JSON file gets line numbers too', () => {
    const text = JSON.stringify(
      {
        suppliers: [{ id: 'acme', apiKeys: ['k1'] }],
        destinations: [{ id: 'buyer-a', url: 'https://a.example/', concurency: 5 }],
        routes: [{ id: 'main', destinations: [{ id: 'buyer-b' }] }],
      },
      null,
      2,
    );
    const lineOf = (needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(reported(text)).toEqual([
      `destinations[0].concurency: unknown key, did you mean "concurrency"? (line ${lineOf('"concurency"')})`,
      `routes[0].destinations[0].id: unknown destination "buyer-b" (line ${lineOf('"buyer-b"')})`,
    ]);
  });

  test('every YAML syntax error is reported, each with its line', () => {
    const lines = reported('suppliers: [1,\n b: 2\n  c: 3');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatch(/^line \d+: not valid YAML or JSON: /);
  });
});

describe('did you mean', () => {
  test.each([
    ['timeoutMS', 'timeoutMs'],
    ['timeout', 'timeoutMs'],
    ['api_keys', 'apiKeys'],
    ['rate_limit', 'rateLimit'],
    ['postbakUrl', 'postbackUrl'],
    ['cooldown', 'cooldownMs'],
  ])('%s -> %s', (typo, key) => {
    expect(closestKey(typo, ['id', 'apiKeys', 'rateLimit', 'postbackUrl', 'timeoutMs', 'cooldownMs'])).toBe(key);
  });

  test.each(['colour', 'extra', 'perMinute', 'x'])('%s: nothing close enough', (word) => {
    expect(closestKey(word, ['id', 'url', 'format', 'method', 'perSecond', 'burst', 'headers'])).toBeUndefined();
  });

  test('a deprecated key is never suggested', () => {
    const config = {
      suppliers: [{ id: 'a', apiKeys: ['k'] }],
      destinations: [{ id: 'b', url: 'https://b.example/' }],
      routes: [],
      // One letter from the deprecated `geoMinObservations`: close, but not to be steered to.
      learning: { geoMinObservation: 5 },
    };
    expect(problemsOf(config)).toEqual(['learning.geoMinObservation: unknown key']);
  });

  test('edit distance', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
  });
});
