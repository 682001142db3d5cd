/**
 * The TypeScript type is derived from the JSON Schema. The `@ts-expect-error` lines below are
 * checked by `npx tsc --noEmit -p .`: if the type stopped following the schema (a field typed
 * too loosely), the expected error would vanish and tsc would fail.
 */
import { describe, expect, test } from '@jest/globals';
import { validateConfig, type DestinationConfig, type LeadRouterConfig, type RouteConfig, type SupplierConfig } from '../src/index.js';

const full = {
  dedupe: { window: '30d', scope: 'global', by: ['phone', 'email'] },
  leads: { retentionDays: 30 },
  suppliers: [
    {
      id: 'acme-media',
      apiKeys: ['k1'],
      rateLimit: { perSecond: 200, burst: 400 },
      postbackUrl: 'https://tracker.example/pb?status={status}',
      postbackOn: ['delivered', 'converted'],
      postbackStatusMap: { delivered: 'lead' },
      supplierPayout: 8,
    },
  ],
  destinations: [
    {
      id: 'buyer-a',
      url: 'https://buyer-a.example/api/leads',
      method: 'PUT',
      format: 'form',
      headers: { Authorization: 'Bearer x' },
      body: { full_name: '{{name}}' },
      timeoutMs: 8000,
      response: { accept: { status: [200], path: 'result', equals: 'success' }, reject: { path: 'result', in: ['rejected', null] } },
      retry: { attempts: 3, backoffMs: 2000 },
      concurrency: 20,
      caps: { hourly: 50, daily: 500, total: 10000 },
      schedule: { timezone: 'America/New_York', days: ['mon', 'fri'], from: '09:00', to: '18:00' },
      accepts: { geo: ['US'] },
      payout: 12.5,
      postback: { secret: 'whsec_abc', statusMap: { sale: 'converted' } },
      enabled: true,
    },
  ],
  routes: [
    {
      id: 'main',
      match: { geo: ['US'], source: ['Facebook'], supplier: ['acme-media'], minQuality: 0.5, fields: { vertical: ['solar', 1, true] } },
      strategy: 'weighted',
      destinations: [{ id: 'buyer-a', weight: 1 }],
      fallback: [],
    },
  ],
} as const satisfies LeadRouterConfig;
const typed: LeadRouterConfig = full;

// Wrong types for fields, each of which the schema rejects too.
const badSupplier: SupplierConfig = {
  id: 'acme',
  // @ts-expect-error apiKeys is a list of strings
  apiKeys: 'k1',
};
const badDestination: DestinationConfig = {
  id: 'buyer',
  url: 'https://buyer.example/',
  // @ts-expect-error timeoutMs is a number, not a string
  timeoutMs: '8000',
};
const badMethod: DestinationConfig = {
  id: 'buyer',
  url: 'https://buyer.example/',
  // @ts-expect-error method is one of POST, PUT, GET
  method: 'PATCH',
};
const badStrategy: RouteConfig = {
  id: 'main',
  destinations: [{ id: 'buyer' }],
  // @ts-expect-error strategy is an enum
  strategy: 'random',
};
// @ts-expect-error url is required
const missingUrl: DestinationConfig = { id: 'buyer' };
const badDedupe: LeadRouterConfig = {
  // @ts-expect-error dedupe.scope is supplier | global
  dedupe: { scope: 'everywhere' },
  suppliers: [],
  destinations: [],
  routes: [],
};
const unknownKey: LeadRouterConfig = {
  suppliers: [],
  destinations: [],
  routes: [],
  // @ts-expect-error additionalProperties: false at the root
  extra: true,
};

describe('LeadRouterConfig follows the schema', () => {
  test('a config that type-checks as LeadRouterConfig also validates', () => {
    const resolved = validateConfig(typed, {});
    expect(resolved.destinations[0]?.method).toBe('PUT');
    expect(resolved.dedupe.scope).toBe('global');
  });

  test('the objects tsc rejects are rejected by the schema too', () => {
    const base = { suppliers: [{ id: 'acme', apiKeys: ['k1'] }], destinations: [{ id: 'buyer', url: 'https://buyer.example/' }], routes: [] };
    const fails = (config: unknown): boolean => {
      try {
        validateConfig(config, {});
        return false;
      } catch {
        return true;
      }
    };
    expect(fails(base)).toBe(false);
    expect(fails({ ...base, suppliers: [badSupplier] })).toBe(true);
    expect(fails({ ...base, destinations: [badDestination] })).toBe(true);
    expect(fails({ ...base, destinations: [badMethod] })).toBe(true);
    expect(fails({ ...base, destinations: [missingUrl] })).toBe(true);
    expect(fails({ ...base, routes: [badStrategy] })).toBe(true);
    expect(fails({ ...base, dedupe: badDedupe.dedupe })).toBe(true);
    expect(fails({ ...base, ...unknownKey })).toBe(true);
  });
});
