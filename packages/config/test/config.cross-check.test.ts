import { createHash } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { parseConfigText, validateConfig, type LeadRouterConfig } from '../src/index.js';
import { ID_PATTERN_MESSAGE, minimalConfig, problemLines } from './helpers.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const check = (config: unknown): string[] => problemLines(() => validateConfig(config, {}));
/** minimalConfig() changed by `edit`; `edit` may add keys the type does not know. */
const withEdit = (edit: (c: LeadRouterConfig) => void): LeadRouterConfig => {
  const config = minimalConfig();
  edit(config);
  return config;
};

test('the minimal config used below is valid', () => {
  expect(() => validateConfig(minimalConfig(), {})).not.toThrow();
});

describe('references between sections', () => {
  test('a route naming an unknown destination', () => {
    const yaml = `
suppliers: [{ id: acme, apiKeys: [k1] }]
destinations:
  - { id: buyer-a, url: "https://buyer-a.example/leads" }
routes:
  - { id: first, destinations: [{ id: buyer-a }] }
  - { id: second, destinations: [{ id: buyer-z }] }
`;
    expect(problemLines(() => parseConfigText(yaml, {}))).toEqual(['routes[1].destinations[0].id: unknown destination "buyer-z"']);
  });

  test('an unknown fallback id', () => {
    const config = withEdit((c) => {
      c.routes[0]!.fallback = ['buyer-b', 'nope'];
    });
    expect(check(config)).toEqual(['routes[0].fallback[1]: unknown destination "nope"']);
  });

  test('an unknown supplier in a route match', () => {
    const config = withEdit((c) => {
      c.routes[0]!.match = { supplier: ['acme', 'ghost'] };
    });
    expect(check(config)).toEqual(['routes[0].match.supplier[1]: unknown supplier "ghost"']);
  });

  test('a destination listed twice in destinations is a problem; repeating one in fallback is not', () => {
    const config = withEdit((c) => {
      c.routes[0]!.destinations = [{ id: 'buyer-a' }, { id: 'buyer-b' }, { id: 'buyer-a' }];
      c.routes[0]!.fallback = ['buyer-b'];
    });
    expect(check(config)).toEqual(['routes[0].destinations[2].id: destination "buyer-a" is listed twice in this route']);
  });

  test('the same destination in two different routes is fine', () => {
    const config = withEdit((c) => {
      c.routes.push({ id: 'other', destinations: [{ id: 'buyer-a' }], fallback: ['buyer-b'] });
    });
    expect(() => validateConfig(config, {})).not.toThrow();
  });
});

describe('unique ids', () => {
  test('duplicate ids among destinations, suppliers and routes', () => {
    const config = withEdit((c) => {
      c.suppliers.push({ id: 'other', apiKeys: ['k2'] }, { id: 'acme', apiKeys: ['k3'] });
      c.destinations.push({ id: 'buyer-a', url: 'https://elsewhere.example/' });
      c.routes.push({ id: 'main', destinations: [{ id: 'buyer-b' }] });
    });
    expect(check(config)).toEqual([
      'suppliers[2].id: duplicate id "acme" (also suppliers[0])',
      'destinations[2].id: duplicate id "buyer-a" (also destinations[0])',
      'routes[1].id: duplicate id "main" (also routes[0])',
    ]);
  });

  test('the same id in different sections is fine', () => {
    const config = withEdit((c) => {
      c.suppliers[0]!.id = 'shared';
      c.destinations[0]!.id = 'shared';
      c.routes[0] = { id: 'shared', destinations: [{ id: 'shared' }] };
    });
    expect(() => validateConfig(config, {})).not.toThrow();
  });
});

describe('route strategies', () => {
  test('a weight on a route without a strategy (priority) or with another strategy', () => {
    const config = withEdit((c) => {
      c.routes[0]!.destinations = [{ id: 'buyer-a', weight: 2 }];
      c.routes.push({ id: 'rr', strategy: 'round_robin', destinations: [{ id: 'buyer-a' }, { id: 'buyer-b', weight: 1 }] });
    });
    expect(check(config)).toEqual([
      'routes[0].destinations[0].weight: weight is only used by strategy "weighted" (this route\'s strategy is "priority")',
      'routes[1].destinations[1].weight: weight is only used by strategy "weighted" (this route\'s strategy is "round_robin")',
    ]);
  });

  test('weights on a weighted route are fine', () => {
    const config = withEdit((c) => {
      c.routes[0] = { id: 'w', strategy: 'weighted', destinations: [{ id: 'buyer-a', weight: 70 }, { id: 'buyer-b', weight: 30 }] };
    });
    expect(() => validateConfig(config, {})).not.toThrow();
  });

  test('a weight of 0 is a schema error', () => {
    const config = withEdit((c) => {
      c.routes[0] = { id: 'w', strategy: 'weighted', destinations: [{ id: 'buyer-a', weight: 0 }] };
    });
    expect(check(config)).toEqual(['routes[0].destinations[0].weight: must be > 0']);
  });

  test('an unknown strategy lists the allowed ones', () => {
    const config = withEdit((c) => {
      (c.routes[0] as Record<string, unknown>).strategy = 'random';
    });
    expect(check(config)).toEqual([
      'routes[0].strategy: must be one of "priority", "weighted", "round_robin", "best_revenue", "auction"',
    ]);
  });
});

describe('schedules', () => {
  test('a bad timezone', () => {
    const config = withEdit((c) => {
      c.destinations[1]!.schedule = { timezone: 'Mars/Olympus_Mons', days: ['mon'], from: '09:00', to: '17:00' };
    });
    expect(check(config)).toEqual(['destinations[1].schedule.timezone: unknown timezone "Mars/Olympus_Mons"']);
  });

  test('IANA timezones and UTC are accepted', () => {
    const config = withEdit((c) => {
      c.destinations[0]!.schedule = { timezone: 'Europe/Berlin' };
      c.destinations[1]!.schedule = { timezone: 'UTC', from: '00:00', to: '24:00' };
    });
    expect(() => validateConfig(config, {})).not.toThrow();
  });

  test('bad times and days are schema errors', () => {
    const config = withEdit((c) => {
      c.destinations[0]!.schedule = { timezone: 'UTC', from: '9:00', to: '24:30' };
      (c.destinations[0]!.schedule as Record<string, unknown>).days = ['monday'];
    });
    expect(check(config)).toEqual([
      'destinations[0].schedule.days[0]: must be one of "mon", "tue", "wed", "thu", "fri", "sat", "sun"',
      'destinations[0].schedule.from: must match pattern "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"',
      'destinations[0].schedule.to: must match pattern "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"',
    ]);
  });
});

describe('API keys', () => {
  test('a key used by two suppliers', () => {
    const config = withEdit((c) => {
      c.suppliers.push({ id: 'other', apiKeys: ['k2', 'acme-key'] });
    });
    expect(check(config)).toEqual(['suppliers[1].apiKeys[1]: API key is also used by supplier "acme"']);
  });

  test('a plain key and its sha256: form are the same key', () => {
    const config = withEdit((c) => {
      c.suppliers.push({ id: 'other', apiKeys: [`sha256:${sha256('acme-key')}`] });
    });
    expect(check(config)).toEqual(['suppliers[1].apiKeys[0]: API key is also used by supplier "acme"']);
  });

  test('sha256: keys that differ only in hex case are the same key', () => {
    const config = withEdit((c) => {
      c.suppliers[0]!.apiKeys = [`sha256:${sha256('x').toUpperCase()}`];
      c.suppliers.push({ id: 'other', apiKeys: [`sha256:${sha256('x')}`] });
    });
    expect(check(config)).toEqual(['suppliers[1].apiKeys[0]: API key is also used by supplier "acme"']);
  });

  test('malformed sha256: keys', () => {
    const config = withEdit((c) => {
      c.suppliers[0]!.apiKeys = ['sha256:abc', `sha256:${'g'.repeat(64)}`, `sha256:${sha256('ok')}0`, `sha256:${sha256('ok')}`];
    });
    const message = 'a hashed key must be "sha256:" followed by 64 hex digits';
    expect(check(config)).toEqual([
      `suppliers[0].apiKeys[0]: ${message}`,
      `suppliers[0].apiKeys[1]: ${message}`,
      `suppliers[0].apiKeys[2]: ${message}`,
    ]);
  });

  test('an empty key list and an empty key are schema errors', () => {
    const config = withEdit((c) => {
      c.suppliers[0]!.apiKeys = [];
      c.suppliers.push({ id: 'other', apiKeys: [''] });
    });
    expect(check(config)).toEqual([
      'suppliers[0].apiKeys: must NOT have fewer than 1 items',
      'suppliers[1].apiKeys[0]: must NOT have fewer than 1 characters',
    ]);
  });

  test('burst below perSecond', () => {
    const config = withEdit((c) => {
      c.suppliers[0]!.rateLimit = { perSecond: 10, burst: 5 };
    });
    expect(check(config)).toEqual(['suppliers[0].rateLimit.burst: burst must be at least perSecond']);
  });
});

describe('schema: unknown keys, ids, required keys', () => {
  test('unknown keys are reported with their full path', () => {
    const config = withEdit((c) => {
      Object.assign(c, { extra: true });
      Object.assign(c.destinations[1]!, { colour: 'red' });
      c.routes[0]!.match = {};
      Object.assign(c.routes[0]!.match, { country: ['US'] });
      c.suppliers[0]!.rateLimit = { perSecond: 5 };
      Object.assign(c.suppliers[0]!.rateLimit, { perMinute: 100 });
    });
    expect(check(config)).toEqual([
      'extra: unknown key',
      'suppliers[0].rateLimit.perMinute: unknown key',
      'destinations[1].colour: unknown key',
      'routes[0].match.country: unknown key',
    ]);
  });

  test('ids that do not match ^[a-z0-9][a-z0-9_-]{0,63}$', () => {
    const config = withEdit((c) => {
      c.suppliers[0]!.id = 'Acme';
      c.destinations[0]!.id = '-buyer';
      c.destinations[1]!.id = 'b'.repeat(65);
      c.routes[0] = { id: 'my route', destinations: [{ id: 'buyer.a' }], fallback: ['_x'] };
    });
    expect(check(config)).toEqual([
      `suppliers[0].id: ${ID_PATTERN_MESSAGE}`,
      `destinations[0].id: ${ID_PATTERN_MESSAGE}`,
      `destinations[1].id: ${ID_PATTERN_MESSAGE}`,
      `routes[0].id: ${ID_PATTERN_MESSAGE}`,
      `routes[0].destinations[0].id: ${ID_PATTERN_MESSAGE}`,
      `routes[0].fallback[0]: ${ID_PATTERN_MESSAGE}`,
    ]);
  });

  test('ids at the edges of the pattern are accepted', () => {
    const config = withEdit((c) => {
      c.suppliers[0]!.id = '0';
      c.destinations[0]!.id = 'a'.repeat(64);
      c.destinations[1]!.id = 'b_2-c';
      c.routes[0] = { id: '9lives', destinations: [{ id: 'a'.repeat(64) }], fallback: ['b_2-c'] };
    });
    expect(() => validateConfig(config, {})).not.toThrow();
  });

  test('missing required keys', () => {
    expect(check({ suppliers: [{ id: 'acme' }], destinations: [{ url: 'https://x.example/' }] })).toEqual([
      'routes: is required',
      'suppliers[0].apiKeys: is required',
      'destinations[0].id: is required',
    ]);
  });
});

describe('every problem is reported at once', () => {
  test('a file with many cross-check problems lists them all', () => {
    const yaml = `
suppliers:
  - { id: acme, apiKeys: [key-1, "sha256:1234"] }
  - { id: beta, apiKeys: [key-1] }
  - { id: acme, apiKeys: [key-2] }
destinations:
  - id: buyer-a
    url: "https://buyer-a.example/leads"
    schedule: { timezone: Atlantis/Capital }
  - { id: buyer-b, url: "https://buyer-b.example/leads" }
routes:
  - id: main
    strategy: best_revenue
    destinations: [{ id: buyer-a, weight: 5 }, { id: buyer-z }, { id: buyer-a }]
    fallback: [nope]
  - { id: main, destinations: [{ id: buyer-b }] }
`;
    expect(problemLines(() => parseConfigText(yaml, {}))).toEqual([
      'suppliers[2].id: duplicate id "acme" (also suppliers[0])',
      'routes[1].id: duplicate id "main" (also routes[0])',
      'suppliers[0].apiKeys[1]: a hashed key must be "sha256:" followed by 64 hex digits',
      'suppliers[1].apiKeys[0]: API key is also used by supplier "acme"',
      'destinations[0].schedule.timezone: unknown timezone "Atlantis/Capital"',
      'routes[0].destinations[0].weight: weight is only used by strategy "weighted" (this route\'s strategy is "best_revenue")',
      'routes[0].destinations[1].id: unknown destination "buyer-z"',
      'routes[0].destinations[2].id: destination "buyer-a" is listed twice in this route',
      'routes[0].fallback[0]: unknown destination "nope"',
    ]);
  });

  test('a file with many schema problems and a missing env var lists them all', () => {
    const yaml = `
dedupe: { scope: everywhere }
leads: { retentionDays: 0 }
suppliers:
  - { id: Acme, apiKeys: ["\${MISSING_KEY}x"] }
destinations:
  - { id: buyer-a, url: "ftp://buyer-a.example/", method: PATCH, timeoutMs: "8000", colour: red }
routes:
  - { id: main, destinations: [] }
`;
    expect(problemLines(() => parseConfigText(yaml, {}))).toEqual([
      'suppliers[0].apiKeys[0]: environment variable MISSING_KEY is not set',
      'dedupe.scope: must be one of "supplier", "global"',
      'leads.retentionDays: must be >= 0.0001',
      `suppliers[0].id: ${ID_PATTERN_MESSAGE}`,
      'destinations[0].colour: unknown key',
      'destinations[0].url: must match pattern "^https?://"',
      'destinations[0].method: must be one of "POST", "PUT", "GET"',
      'destinations[0].timeoutMs: must be integer',
      'routes[0].destinations: must NOT have fewer than 1 items',
    ]);
  });
});

describe('response rules run on RE2 (linear time on a hostile reply)', () => {
  test.each([
    ['a backreference', '^(a)\\1$'],
    ['a lookahead', '^(?=ok)'],
    ['a syntax error', '(unclosed'],
  ])('%s in matches is refused with its path', (_name, pattern) => {
    const config = withEdit((c) => {
      c.destinations[0]!.response = { accept: { path: 'result', matches: pattern } };
    });
    expect(check(config)).toEqual([expect.stringMatching(/^destinations\[0\]\.response\.accept\.matches: not a valid RE2 regular expression \(.+\)$/)]);
  });

  test('a pattern that backtracks for ever in JavaScript is valid RE2 and accepted', () => {
    const config = withEdit((c) => {
      c.destinations[0]!.response = { accept: { path: 'result', matches: '^(a+)+$' } };
    });
    expect(() => validateConfig(config, {})).not.toThrow();
  });
});

describe('auctions (contract §9)', () => {
  const auctionYaml = (ping: string, route = 'strategy: auction'): string => `
suppliers: [{ id: acme, apiKeys: [k1] }]
destinations:
  - id: bidder
    url: "https://bidder.example/post?p={{bid}}"
    ping: ${ping}
  - { id: direct, url: "https://direct.example/leads" }
routes:
  - { id: r, ${route}, destinations: [{ id: bidder }], fallback: [direct] }
`;
  const ok = '{ url: "https://bidder.example/ping", response: { bid: { path: price } } }';

  test('a bidder, an auction route with its defaults, and a direct-post fallback are valid', () => {
    const config = parseConfigText(auctionYaml(ok), {});
    expect(config.routes[0]?.auction).toEqual({ floor: 0, deadlineMs: 1000, rank: 'bid', mode: 'exclusive', maxSales: 1, bidTtlMs: 60000 });
    expect(parseConfigText(auctionYaml(ok, 'strategy: auction, auction: { mode: shared, maxSales: 3 }'), {}).routes[0]?.auction).toMatchObject({ mode: 'shared', maxSales: 3 });
    expect(config.destinations[0]?.ping).toEqual({ url: 'https://bidder.example/ping', method: 'POST', format: 'json', headers: {}, timeoutMs: 1000, omit: [], response: { bid: { path: 'price' } } });
  });

  test('a ping template naming contact data or an omitted field is refused, each where it stands', () => {
    const ping = '{ url: "https://bidder.example/ping?tel={{phone}}", omit: [street], headers: { X-Mail: "{{email}}" }, body: { who: "{{first_name}}", at: "{{street}}", zip: "{{zip}}" }, response: { bid: { path: price } } }';
    expect(problemLines(() => parseConfigText(auctionYaml(ping), {}))).toEqual([
      'destinations[0].ping.url: {{phone}} is contact data: never sent in a ping',
      'destinations[0].ping.headers.X-Mail: {{email}} is contact data: never sent in a ping',
      'destinations[0].ping.body.who: {{first_name}} is contact data: never sent in a ping',
      'destinations[0].ping.body.at: {{street}} is in ping.omit: never sent in a ping',
    ]);
  });

  test('an auction route lists bidders only; `auction` on another strategy; shared mode needs maxSales (2 or more), and only it has one; a ping needs its bid path', () => {
    const yaml = `
suppliers: [{ id: acme, apiKeys: [k1] }]
destinations:
  - { id: direct, url: "https://direct.example/leads" }
  - { id: nobid, url: "https://x.example/", ping: { url: "https://x.example/ping", response: {} } }
routes:
  - { id: a, strategy: auction, destinations: [{ id: direct }], fallback: [nobid] }
  - { id: b, strategy: priority, auction: { floor: 1 }, destinations: [{ id: direct }] }
  - { id: c, strategy: auction, auction: { mode: shared }, destinations: [{ id: nobid }] }
  - { id: d, strategy: auction, auction: { maxSales: 2 }, destinations: [{ id: nobid }] }
  - { id: e, strategy: auction, auction: { mode: shared, maxSales: 1 }, destinations: [{ id: nobid }] }
`;
    expect(problemLines(() => parseConfigText(yaml, {}))).toEqual([
      'destinations[1].ping.response.bid: is required',
      'routes[4].auction.maxSales: must be >= 2',
      // The schema refused its value, so the check sees none: both say what to write.
      'routes[0].destinations[0].id: destination "direct" has no ping: an auction\'s destinations are bidders (a direct post belongs in fallback)',
      'routes[0].fallback[0]: destination "nobid" is a bidder: an auction\'s fallback is for direct posts',
      'routes[1].auction: auction is only used by strategy "auction" (this route\'s strategy is "priority")',
      'routes[2].auction.maxSales: a shared auction needs maxSales (2 or more): how many buyers may buy each lead',
      'routes[3].auction.maxSales: maxSales is for mode "shared": an exclusive auction sells each lead once',
      'routes[4].auction.maxSales: a shared auction needs maxSales (2 or more): how many buyers may buy each lead',
    ]);
  });
});
