import { createHash } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { applyOverrides, configHash, parseConfigText, type DestinationOverride } from '../src/index.js';

const config = parseConfigText(
  `
suppliers: [{ id: s, apiKeys: [k] }]
destinations:
  - { id: capped, url: "https://a.example/", caps: { hourly: 10, daily: 100 } }
  - { id: open, url: "https://b.example/" }
  - { id: off, url: "https://c.example/", enabled: false }
routes: [{ id: r, destinations: [{ id: capped }, { id: open }, { id: off }] }]
`,
  {},
);
const byId = (c: typeof config) => new Map(c.destinations.map((d) => [d.id, d]));

describe('applyOverrides: the config as it runs, the operators’ live changes applied', () => {
  test('no overrides: the very same config', () => {
    expect(applyOverrides(config, new Map())).toBe(config);
  });

  test('a pause disables; caps replace period by period, null removes one; the rest of the destination is the file’s', () => {
    const running = byId(applyOverrides(config, new Map<string, DestinationOverride>([
      ['capped', { paused: true, caps: { hourly: null, total: 5 } }],
      ['open', { caps: { daily: 3 } }],
    ])));
    expect(running.get('capped')).toEqual({ ...byId(config).get('capped'), enabled: false, caps: { daily: 100, total: 5 } });
    expect(running.get('open')).toEqual({ ...byId(config).get('open'), caps: { daily: 3 } });
    expect(running.get('off')).toBe(byId(config).get('off'));
  });

  test('a resume cannot enable what the file disables; an override of an id the file lacks changes nothing', () => {
    const running = applyOverrides(config, new Map<string, DestinationOverride>([['off', {}], ['gone', { paused: true }]]));
    expect(byId(running).get('off')?.enabled).toBe(false);
    expect(running.destinations.map((d) => d.id)).toEqual(['capped', 'open', 'off']);
  });

  test('property: enabled is the file’s and not paused; each period’s cap is the override’s when named, else the file’s', () => {
    const limit = fc.option(fc.nat({ max: 1000 }), { nil: null });
    const override = fc.record({ paused: fc.boolean(), caps: fc.record({ hourly: limit, daily: limit, total: limit }, { requiredKeys: [] }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('capped', 'open', 'off'), override), (given) => {
        const overrides = new Map(Object.entries(given));
        const running = byId(applyOverrides(config, overrides));
        for (const file of config.destinations) {
          const o = overrides.get(file.id);
          const d = running.get(file.id)!;
          expect(d.enabled).toBe(file.enabled && o?.paused !== true);
          for (const period of ['hourly', 'daily', 'total'] as const) {
            const named = o?.caps && period in o.caps ? o.caps[period] : undefined;
            expect(d.caps?.[period]).toBe(named === undefined ? file.caps?.[period] : (named ?? undefined));
          }
          expect({ ...d, enabled: file.enabled, caps: file.caps }).toEqual({ ...file, caps: file.caps });
        }
      }),
    );
  });
});

test('configHash: the first 12 hex digits of the SHA-256 of the text, as sha256sum prints it', () => {
  const text = 'suppliers: []\n';
  expect(configHash(text)).toBe(createHash('sha256').update(text).digest('hex').slice(0, 12));
  expect(configHash(text)).toMatch(/^[0-9a-f]{12}$/);
});
