import { describe, expect, test } from '@jest/globals';
import type { Request } from 'express';
import { sameOrigin } from '../src/console/session-middleware.js';
import { secretMatches } from '../src/auth.js';
import { sessionCookie, sessionCookieHeader } from '../src/console/sessions.js';
import { spreadsheetSafe } from '../src/routes/ledger-reads.js';

const request = (headers: Record<string, string>): Request => ({ headers }) as unknown as Request;

describe('the console session’s pieces', () => {
  test('sameOrigin: no Origin passes (not a browser’s cross-site request); ours passes; another port, host, scheme-less or junk does not', () => {
    expect(sameOrigin(request({ host: '127.0.0.1:3000' }))).toBe(true);
    expect(sameOrigin(request({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' }))).toBe(true);
    expect(sameOrigin(request({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3001' }))).toBe(false);
    expect(sameOrigin(request({ host: '127.0.0.1:3000', origin: 'http://localhost:3000' }))).toBe(false);
    expect(sameOrigin(request({ host: '127.0.0.1:3000', origin: 'null' }))).toBe(false);
    expect(sameOrigin(request({ origin: 'http://127.0.0.1:3000' }))).toBe(false);
  });

  test('a cross-site token matches only the exact token (secretMatches)', () => {
    expect(secretMatches('abc', 'abc')).toBe(true);
    expect(secretMatches('abd', 'abc')).toBe(false);
    expect(secretMatches('', 'abc')).toBe(false);
    expect(secretMatches(undefined, 'abc')).toBe(false);
  });

  test('the cookie: read from a Cookie header among others; set HttpOnly, SameSite=Strict, Secure only over TLS', () => {
    expect(sessionCookie('a=1; lr_console=tok=en; b=2')).toBe('tok=en');
    expect(sessionCookie('a=1')).toBeUndefined();
    expect(sessionCookie(undefined)).toBeUndefined();
    expect(sessionCookieHeader('t', false)).toBe('lr_console=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200');
    expect(sessionCookieHeader('t', true)).toMatch(/; Secure$/);
  });
});

test('spreadsheetSafe: a cell a spreadsheet would run as a formula becomes text; numbers and phones stay as they are', () => {
  for (const formula of ['=1+1', '+SUM(A1)', '-2+3', '@cmd', '\t=x', '\r=x', '=HYPERLINK("http://x")']) expect(spreadsheetSafe(formula)).toBe(`'${formula}`);
  for (const plain of ['+14155550123', '-12.5', 'Facebook', '', 'a=b', '2026-12-01']) expect(spreadsheetSafe(plain)).toBe(plain);
});
