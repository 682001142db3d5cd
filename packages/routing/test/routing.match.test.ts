import { describe, expect, test } from '@jest/globals';
import type { RouteConfig } from '@leadrouter/config';
import { matchRoute, routeMatches, type RoutableLead } from '../src/index.js';

function lead(overrides: Partial<RoutableLead> = {}): RoutableLead {
  return {
    id: '01JTEST',
    supplier: 'acme',
    geo: 'US',
    source: 'Facebook',
    quality: 0.7,
    fields: {},
    ...overrides,
  };
}

function route(id: string, match?: RouteConfig['match']): RouteConfig {
  return match === undefined ? { id, destinations: [{ id: 'd1' }] } : { id, match, destinations: [{ id: 'd1' }] };
}

describe('matchRoute', () => {
  test('routes are tried in config order: the first that matches wins', () => {
    const routes = [route('us-only', { geo: ['US'] }), route('everything'), route('us-again', { geo: ['US'] })];
    expect(matchRoute(routes, lead({ geo: 'US' }))?.id).toBe('us-only');
    expect(matchRoute(routes, lead({ geo: 'CA' }))?.id).toBe('everything');
  });

  test('a later route wins when the earlier ones do not match', () => {
    const routes = [route('de', { geo: ['DE'] }), route('fb', { source: ['facebook'] }), route('all')];
    expect(matchRoute(routes, lead({ geo: 'FR', source: 'Facebook' }))?.id).toBe('fb');
    expect(matchRoute(routes, lead({ geo: 'DE', source: 'Facebook' }))?.id).toBe('de');
  });

  test('no route matches -> undefined', () => {
    const routes = [route('de', { geo: ['DE'] }), route('google', { source: ['Google'] })];
    expect(matchRoute(routes, lead({ geo: 'US', source: 'Facebook' }))).toBeUndefined();
    expect(matchRoute([], lead())).toBeUndefined();
  });
});

describe('routeMatches', () => {
  test('an empty or missing match holds for every lead', () => {
    expect(routeMatches(route('a'), lead())).toBe(true);
    expect(routeMatches(route('b', {}), lead({ geo: 'ZZ', source: 'x', quality: 0 }))).toBe(true);
  });

  test('geo is a list; config entries in any case', () => {
    const r = route('r', { geo: ['us', 'CA'] });
    expect(routeMatches(r, lead({ geo: 'US' }))).toBe(true);
    expect(routeMatches(r, lead({ geo: 'CA' }))).toBe(true);
    expect(routeMatches(r, lead({ geo: 'GB' }))).toBe(false);
  });

  test('source is a list compared case-insensitively', () => {
    const r = route('r', { source: ['facebook', 'GOOGLE'] });
    expect(routeMatches(r, lead({ source: 'Facebook' }))).toBe(true);
    expect(routeMatches(r, lead({ source: 'FACEBOOK' }))).toBe(true);
    expect(routeMatches(r, lead({ source: 'google' }))).toBe(true);
    expect(routeMatches(r, lead({ source: 'TikTok' }))).toBe(false);
    expect(routeMatches(r, lead({ source: 'facebook ads' }))).toBe(false);
  });

  test('supplier is a list', () => {
    const r = route('r', { supplier: ['acme', 'globex'] });
    expect(routeMatches(r, lead({ supplier: 'acme' }))).toBe(true);
    expect(routeMatches(r, lead({ supplier: 'globex' }))).toBe(true);
    expect(routeMatches(r, lead({ supplier: 'initech' }))).toBe(false);
  });

  test('minQuality: equal passes, below fails', () => {
    const r = route('r', { minQuality: 0.5 });
    expect(routeMatches(r, lead({ quality: 0.5 }))).toBe(true);
    expect(routeMatches(r, lead({ quality: 0.51 }))).toBe(true);
    expect(routeMatches(r, lead({ quality: 0.49 }))).toBe(false);
    expect(routeMatches(route('z', { minQuality: 0 }), lead({ quality: 0 }))).toBe(true);
  });

  test('fields with a single value', () => {
    const r = route('r', { fields: { vertical: 'auto' } });
    expect(routeMatches(r, lead({ fields: { vertical: 'auto' } }))).toBe(true);
    expect(routeMatches(r, lead({ fields: { vertical: 'home' } }))).toBe(false);
    expect(routeMatches(r, lead({ fields: {} }))).toBe(false);
  });

  test('fields with a list of values', () => {
    const r = route('r', { fields: { vertical: ['auto', 'home'] } });
    expect(routeMatches(r, lead({ fields: { vertical: 'home' } }))).toBe(true);
    expect(routeMatches(r, lead({ fields: { vertical: 'auto' } }))).toBe(true);
    expect(routeMatches(r, lead({ fields: { vertical: 'health' } }))).toBe(false);
  });

  test('fields compare numbers and strings by their text (form posts send strings)', () => {
    expect(routeMatches(route('r', { fields: { age: 30 } }), lead({ fields: { age: '30' } }))).toBe(true);
    expect(routeMatches(route('r', { fields: { age: '30' } }), lead({ fields: { age: 30 } }))).toBe(true);
    expect(routeMatches(route('r', { fields: { age: [25, 30] } }), lead({ fields: { age: '30' } }))).toBe(true);
    expect(routeMatches(route('r', { fields: { age: 30 } }), lead({ fields: { age: 31 } }))).toBe(false);
    expect(routeMatches(route('r', { fields: { age: 30 } }), lead({ fields: { age: '300' } }))).toBe(false);
    expect(routeMatches(route('r', { fields: { owner: true } }), lead({ fields: { owner: 'true' } }))).toBe(true);
    expect(routeMatches(route('r', { fields: { owner: true } }), lead({ fields: { owner: false } }))).toBe(false);
  });

  test('every field named must hold', () => {
    const r = route('r', { fields: { vertical: 'auto', state: ['CA', 'NY'] } });
    expect(routeMatches(r, lead({ fields: { vertical: 'auto', state: 'NY' } }))).toBe(true);
    expect(routeMatches(r, lead({ fields: { vertical: 'auto', state: 'TX' } }))).toBe(false);
    expect(routeMatches(r, lead({ fields: { vertical: 'auto' } }))).toBe(false);
  });

  test('all match keys are required to hold together', () => {
    const r = route('r', { geo: ['US'], source: ['facebook'], supplier: ['acme'], minQuality: 0.5, fields: { vertical: 'auto' } });
    const good = lead({ geo: 'US', source: 'Facebook', supplier: 'acme', quality: 0.6, fields: { vertical: 'auto' } });
    expect(routeMatches(r, good)).toBe(true);
    expect(routeMatches(r, { ...good, geo: 'CA' })).toBe(false);
    expect(routeMatches(r, { ...good, source: 'Google' })).toBe(false);
    expect(routeMatches(r, { ...good, supplier: 'globex' })).toBe(false);
    expect(routeMatches(r, { ...good, quality: 0.4 })).toBe(false);
    expect(routeMatches(r, { ...good, fields: { vertical: 'home' } })).toBe(false);
  });
});
