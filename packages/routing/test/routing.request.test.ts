import { validateHeaderValue } from 'node:http';
import { afterEach, describe, expect, test } from '@jest/globals';
import { resolveDestination, type DestinationConfig, type ResolvedDestination } from '@leadrouter/config';
import type { Lead } from '@leadrouter/lead';
import { buildRequest, renderTemplate, templateValues } from '../src/index.js';

const LEAD_ID = '01JD3W6Z8Q4X5Y6Z7A8B9C0D1E';

function lead(overrides: Partial<Lead> = {}): Lead {
  return {
    id: LEAD_ID,
    supplier: 'acme-media',
    createdAt: Date.parse('2026-11-25T12:00:00Z'),
    quality: 0.8,
    name: 'Mary Ann Smith',
    phone: '+12025550143',
    phoneNational: '(202) 555-0143',
    geo: 'US',
    source: 'Facebook',
    email: 'mary@example.com',
    click_id: 'clk-77',
    ip: '203.0.113.9',
    fields: { vertical: 'auto', age: 42, owner: true },
    ...overrides,
  };
}

function dest(overrides: Partial<DestinationConfig> = {}): ResolvedDestination {
  return resolveDestination({ id: 'buyer-a', url: 'https://buyer-a.example/api/leads', ...overrides });
}

function jsonBody(body: string | undefined): Record<string, unknown> {
  expect(typeof body).toBe('string');
  return JSON.parse(body as string) as Record<string, unknown>;
}

const PROTO_KEYS = ['x', 'polluted', 'y', 'z'];
afterEach(() => {
  // no test may leave anything on Object.prototype
  for (const key of PROTO_KEYS) expect(Object.prototype.hasOwnProperty.call(Object.prototype, key)).toBe(false);
});

describe('templateValues / renderTemplate', () => {
  test('lead fields and derived values', () => {
    const v = templateValues(lead());
    expect(v.name).toBe('Mary Ann Smith');
    expect(v.first_name).toBe('Mary');
    expect(v.last_name).toBe('Ann Smith');
    expect(v.phone).toBe('+12025550143');
    expect(v.phone_national).toBe('(202) 555-0143');
    expect(v.id).toBe(LEAD_ID);
    expect(v.quality).toBe(0.8);
    expect(v.supplier).toBe('acme-media');
    expect(v.geo).toBe('US');
    expect(v.source).toBe('Facebook');
    expect(v.email).toBe('mary@example.com');
    expect(v.click_id).toBe('clk-77');
    expect(v.ip).toBe('203.0.113.9');
    expect(v.vertical).toBe('auto');
    expect(v.age).toBe(42);
  });

  test('a one-word name has an empty last name; surrounding spaces are ignored', () => {
    const v = templateValues(lead({ name: '  Cher  ' }));
    expect(v.first_name).toBe('Cher');
    expect(v.last_name).toBe('');
    const w = templateValues(lead({ name: 'Jean   Luc  Picard' }));
    expect(w.first_name).toBe('Jean');
    expect(w.last_name).toBe('Luc Picard');
  });

  test('missing optional fields render as empty strings', () => {
    const v = templateValues(lead({ email: undefined, click_id: undefined, ip: undefined }));
    expect(renderTemplate('[{{email}}|{{click_id}}|{{ip}}]', v)).toBe('[||]');
  });

  test('extra fields cannot override the standard or derived values', () => {
    const v = templateValues(lead({ fields: { id: 'spoof', supplier: 'evil', first_name: 'X' } }));
    expect(v.id).toBe(LEAD_ID);
    expect(v.supplier).toBe('acme-media');
    expect(v.first_name).toBe('Mary');
  });

  test('unknown fields (including prototype names) become empty', () => {
    const v = templateValues(lead());
    expect(renderTemplate('{{nope}}', v)).toBe('');
    expect(renderTemplate('a-{{nope}}-b', v)).toBe('a--b');
    expect(renderTemplate('{{constructor}}', v)).toBe('');
    expect(renderTemplate('{{__proto__}}', v)).toBe('');
    expect(renderTemplate('x{{toString}}{{hasOwnProperty}}x', v)).toBe('xx');
  });

  test('a single placeholder keeps the type; anything more is text', () => {
    const v = templateValues(lead());
    expect(renderTemplate('{{quality}}', v)).toBe(0.8);
    expect(renderTemplate('{{ age }}', v)).toBe(42);
    expect(renderTemplate('{{owner}}', v)).toBe(true);
    expect(renderTemplate('q={{quality}}', v)).toBe('q=0.8');
    expect(renderTemplate('{{age}}{{age}}', v)).toBe('4242');
    expect(renderTemplate('no placeholders', v)).toBe('no placeholders');
  });
});

describe('buildRequest: JSON body', () => {
  test('templates fill lead and derived fields; numbers stay numbers', () => {
    const req = buildRequest(
      dest({
        body: {
          full_name: '{{name}}',
          first: '{{first_name}}',
          last: '{{last_name}}',
          tel: '{{phone_national}}',
          phone: '{{phone}}',
          sub_id: '{{id}}',
          score: '{{quality}}',
          age: '{{age}}',
          owner: '{{owner}}',
          label: 'q{{quality}}-{{supplier}}',
          supplier: '{{supplier}}',
          missing: '{{nope}}',
          fixed: 'constant',
        },
      }),
      lead(),
    );
    expect(req.method).toBe('POST');
    expect(req.url).toBe('https://buyer-a.example/api/leads');
    expect(req.headers['content-type']).toBe('application/json');
    expect(jsonBody(req.body)).toEqual({
      full_name: 'Mary Ann Smith',
      first: 'Mary',
      last: 'Ann Smith',
      tel: '(202) 555-0143',
      phone: '+12025550143',
      sub_id: LEAD_ID,
      score: 0.8,
      age: 42,
      owner: true,
      label: 'q0.8-acme-media',
      supplier: 'acme-media',
      missing: '',
      fixed: 'constant',
    });
  });

  test('dotted names build nested JSON', () => {
    const req = buildRequest(
      dest({ body: { 'contact.phone': '{{phone}}', 'contact.email': '{{email}}', 'meta.a.b': '{{age}}', top: '{{geo}}' } }),
      lead(),
    );
    expect(jsonBody(req.body)).toEqual({
      contact: { phone: '+12025550143', email: 'mary@example.com' },
      meta: { a: { b: 42 } },
      top: 'US',
    });
  });

  test('prototype body names are ignored: no pollution, nothing sent', () => {
    const req = buildRequest(
      dest({
        body: {
          '__proto__.x': '{{name}}',
          '__proto__': '{{name}}',
          'constructor.prototype.polluted': 'yes',
          'a.__proto__.y': '1',
          'prototype.z': '1',
          ok: '{{geo}}',
        },
      }),
      lead(),
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).y).toBeUndefined();
    expect(req.body).toBe('{"ok":"US"}');
  });

  test('without a body mapping the lead\'s own fields are sent', () => {
    const req = buildRequest(dest(), lead());
    expect(jsonBody(req.body)).toEqual({
      name: 'Mary Ann Smith',
      phone: '+12025550143',
      geo: 'US',
      source: 'Facebook',
      email: 'mary@example.com',
      click_id: 'clk-77',
      ip: '203.0.113.9',
      vertical: 'auto',
      age: 42,
      owner: true,
    });
  });

  test('without a body mapping absent optional fields are left out, and field names are sent as they are', () => {
    const req = buildRequest(
      dest(),
      lead({ email: undefined, click_id: undefined, ip: undefined, fields: { 'utm.source': 'fb', utm: 'x' } }),
    );
    expect(jsonBody(req.body)).toEqual({ name: 'Mary Ann Smith', phone: '+12025550143', geo: 'US', source: 'Facebook', 'utm.source': 'fb', utm: 'x' });
  });

  test('PUT is honoured', () => {
    const req = buildRequest(dest({ method: 'PUT', body: { n: '{{name}}' } }), lead());
    expect(req.method).toBe('PUT');
    expect(jsonBody(req.body)).toEqual({ n: 'Mary Ann Smith' });
  });
});

describe('buildRequest: form body', () => {
  test('url-encodes the mapped fields', () => {
    const req = buildRequest(
      dest({ format: 'form', body: { name: '{{first_name}}', surname: '{{last_name}}', tel: '{{phone_national}}', note: '{{source}}' } }),
      lead({ source: 'Ads & More=1' }),
    );
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.body).toBe('name=Mary&surname=Ann+Smith&tel=%28202%29+555-0143&note=Ads+%26+More%3D1');
    const parsed = new URLSearchParams(req.body);
    expect(parsed.get('note')).toBe('Ads & More=1');
    expect(parsed.get('surname')).toBe('Ann Smith');
  });

  test('without a body mapping the lead\'s own fields are sent', () => {
    const req = buildRequest(dest({ format: 'form' }), lead({ fields: { age: 42 } }));
    expect(Object.fromEntries(new URLSearchParams(req.body))).toEqual({
      name: 'Mary Ann Smith',
      phone: '+12025550143',
      geo: 'US',
      source: 'Facebook',
      email: 'mary@example.com',
      click_id: 'clk-77',
      ip: '203.0.113.9',
      age: '42',
    });
  });
});

describe('buildRequest: GET', () => {
  test('mapped fields go in the query string; no body', () => {
    const req = buildRequest(
      dest({ method: 'GET', url: 'https://buyer-c.example/ping?key=abc', body: { n: '{{name}}', src: '{{source}}', q: '{{quality}}' } }),
      lead({ source: 'Ads & More' }),
    );
    expect(req.method).toBe('GET');
    expect(req.body).toBeUndefined();
    expect(req.headers['content-type']).toBeUndefined();
    const url = new URL(req.url);
    expect(url.origin + url.pathname).toBe('https://buyer-c.example/ping');
    expect(Object.fromEntries(url.searchParams)).toEqual({ key: 'abc', n: 'Mary Ann Smith', src: 'Ads & More', q: '0.8' });
  });

  test('without a body mapping the lead\'s own fields go in the query string', () => {
    const req = buildRequest(dest({ method: 'GET' }), lead({ fields: {} }));
    expect(req.body).toBeUndefined();
    expect(Object.fromEntries(new URL(req.url).searchParams)).toEqual({
      name: 'Mary Ann Smith',
      phone: '+12025550143',
      geo: 'US',
      source: 'Facebook',
      email: 'mary@example.com',
      click_id: 'clk-77',
      ip: '203.0.113.9',
    });
  });
});

describe('buildRequest: URL and headers', () => {
  test('URL templates are URL-encoded', () => {
    const req = buildRequest(
      dest({ url: 'https://buyer-a.example/leads/{{geo}}?src={{source}}&name={{name}}&sub={{id}}' }),
      lead({ source: 'Ads & More', name: 'Ann Lee' }),
    );
    expect(req.url).toBe(`https://buyer-a.example/leads/US?src=Ads%20%26%20More&name=Ann%20Lee&sub=${LEAD_ID}`);
    const url = new URL(req.url);
    expect(url.searchParams.get('src')).toBe('Ads & More');
    expect(url.searchParams.get('name')).toBe('Ann Lee');
    expect([...url.searchParams.keys()]).toEqual(['src', 'name', 'sub']);
  });

  test('a URL value cannot add path segments or a fragment', () => {
    const req = buildRequest(dest({ url: 'https://buyer-a.example/leads/{{source}}' }), lead({ source: '../admin?x=1#frag' }));
    const url = new URL(req.url);
    expect(url.pathname).toBe('/leads/..%2Fadmin%3Fx%3D1%23frag');
    expect(url.search).toBe('');
    expect(url.hash).toBe('');
  });

  test('header templates are filled and CR/LF removed', () => {
    const req = buildRequest(
      dest({ headers: { Authorization: 'Bearer {{supplier}}', 'X-Source': '{{source}}', 'X-Empty': '{{nope}}' } }),
      lead({ source: 'Face\r\nX-Injected: 1\nbook\r' }),
    );
    expect(req.headers.authorization).toBe('Bearer acme-media');
    const source = req.headers['x-source'] as string;
    expect(source).not.toMatch(/[\r\n]/);
    expect(source).toContain('Face');
    expect(source).toContain('book');
    expect(req.headers['x-empty']).toBe('');
    expect(req.headers['x-injected']).toBeUndefined();
    for (const value of Object.values(req.headers)) expect(value).not.toMatch(/[\r\n]/);
  });

  test('every request carries Idempotency-Key and X-Lead-Id equal to the lead id, which config cannot override', () => {
    const configs: ResolvedDestination[] = [
      dest(),
      dest({ method: 'PUT', format: 'form' }),
      dest({ method: 'GET', body: { a: '{{name}}' } }),
      dest({ headers: { 'Idempotency-Key': 'fixed', 'X-Lead-Id': 'other', 'X-Api-Key': 'k' } }),
    ];
    for (const config of configs) {
      const req = buildRequest(config, lead());
      const lower = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
      expect(lower['idempotency-key']).toBe(LEAD_ID);
      expect(lower['x-lead-id']).toBe(LEAD_ID);
      expect(Object.keys(req.headers).filter((k) => k.toLowerCase() === 'idempotency-key')).toHaveLength(1);
      expect(Object.keys(req.headers).filter((k) => k.toLowerCase() === 'x-lead-id')).toHaveLength(1);
    }
    const other = buildRequest(dest(), lead({ id: '01JD3W6Z8Q4X5Y6Z7A8B9C0D1F' }));
    expect(other.headers['idempotency-key']).toBe('01JD3W6Z8Q4X5Y6Z7A8B9C0D1F');
  });

  // Contract §4: any lead that intake accepted can be delivered. Node refuses a header value with
  // a non-Latin-1 or control character (ERR_INVALID_CHAR), and encodeURIComponent throws on a lone
  // surrogate: both would fail every retry of the lead.
  const HOSTILE_NAMES = ['Иван Петров', '李雷', 'Zoë 🚀 Smith', 'Ann\ud800', 'Bob\udc00 Lee', 'tab\there\u0000nul\u007fdel', 'Ünïcödé\r\nX-Evil: 1'];

  test.each(HOSTILE_NAMES)('a header with %j is a value Node accepts, with non-ASCII percent-encoded', (name) => {
    const req = buildRequest(dest({ headers: { 'X-Name': '{{name}}', 'X-First': 'first={{first_name}}' } }), lead({ name }));
    for (const value of Object.values(req.headers)) {
      expect(() => validateHeaderValue('x-test', value)).not.toThrow();
      expect(value).toMatch(/^[\x20-\x7e]*$/);
    }
  });

  test('a non-ASCII header value decodes back to the name', () => {
    const req = buildRequest(dest({ headers: { 'X-Name': '{{name}}' } }), lead({ name: 'Иван Петров' }));
    expect(req.headers['x-name']).toBe('%D0%98%D0%B2%D0%B0%D0%BD %D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2');
    expect(decodeURIComponent(req.headers['x-name'] as string)).toBe('Иван Петров');
  });

  test('control characters are removed from header values', () => {
    const req = buildRequest(dest({ headers: { 'X-Name': '{{name}}' } }), lead({ name: 'a\u0000b\u0007c\u007fd' }));
    expect(req.headers['x-name']).toBe('abcd');
  });

  test.each(HOSTILE_NAMES)('a URL template with %j builds a valid URL that keeps the rest of the value', (name) => {
    const req = buildRequest(dest({ url: 'https://buyer-a.example/leads?name={{name}}' }), lead({ name }));
    const url = new URL(req.url);
    // The two lone surrogates of the list become U+FFFD; everything else arrives as it was.
    expect(url.searchParams.get('name')).toBe(name.replace(/\ud800|\udc00/g, '\ufffd'));
  });
});
