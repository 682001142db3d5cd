import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Logger } from '@leadrouter/logging';
import type { RedisClient } from '@leadrouter/redis';
import { isAdminKey } from '../auth.js';
import { sameOrigin } from './session-middleware.js';
import { clearedCookieHeader, sessionCookie, sessionCookieHeader, type ConsoleSessions } from './sessions.js';
import { CONSOLE_CSP, loginPage, shellPage } from './pages.js';

export type LoginLimiter = RateLimiterRedis;

/** Ten sign-ins a minute per address, counted in Redis by every intake: the admin key is long, but guessing must stay slow. */
export function consoleLoginLimiter(redis: RedisClient, keyPrefix: string): LoginLimiter {
  return new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}:console-login`, points: 10, duration: 60 });
}

export interface ConsoleRoutesDeps {
  adminApiKey: string | undefined;
  sessions: ConsoleSessions;
  loginAttempts: LoginLimiter;
  logger: Logger;
}

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');
const require = createRequire(import.meta.url);
/** The folder of a package entry's built files (not every package exports its package.json). */
const distDir = (entry: string): string => dirname(require.resolve(entry));

/** The libraries the page imports, served from node_modules as published: no CDN, no build step. */
const VENDOR: Record<string, string> = {
  'preact.mjs': join(distDir('preact'), 'preact.mjs'),
  'hooks.mjs': join(distDir('preact/hooks'), 'hooks.mjs'),
  'htm.mjs': join(distDir('htm'), 'htm.mjs'),
  'chart.umd.min.js': join(distDir('chart.js'), 'chart.umd.min.js'),
};

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Not no-referrer: with it, Chromium sends `Origin: null` on the page's own form posts.
  res.setHeader('Referrer-Policy', 'same-origin');
  next();
}

/**
 * The operator console (contract §11) at /console/: a sign-in form for the admin key, then a
 * small Preact page that calls the admin and ledger endpoints with the session cookie. Without
 * ADMIN_API_KEY there is no console (404), as there are no admin endpoints.
 */
export function consoleRoutes(deps: ConsoleRoutesDeps): Router {
  const router = Router();
  const attempts = deps.loginAttempts;
  const html = (res: Response, status: number, body: string): void => {
    res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(body);
  };

  router.use('/console', (_req, res, next) => (deps.adminApiKey ? next() : res.status(404).json({ reason: 'not_found' })), securityHeaders);
  // Express matches `/console` and `/console/` alike: the page's relative links want the slash.
  router.get('/console/', (req, res) => {
    if (!req.originalUrl.split('?')[0]?.endsWith('/')) {
      res.redirect(301, '/console/');
      return;
    }
    const csrf = res.locals.consoleCsrf as string | undefined;
    html(res, 200, res.locals.consoleAdmin === true && csrf ? shellPage(csrf) : loginPage());
  });

  router.post('/console/login', express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 5 }), async (req, res) => {
    // A sign-in form posted from another site would sign the browser into a session it did not ask for.
    if (!sameOrigin(req)) {
      res.status(403).json({ ok: false, reason: 'csrf', message: 'sign in from the console page' });
      return;
    }
    try {
      await attempts.consume(req.ip ?? 'unknown');
    } catch (refusal) {
      // A refusal of the limiter (too many tries), or Redis unreachable: either way, not now.
      const tooMany = !(refusal instanceof Error);
      res.setHeader('Retry-After', tooMany ? '60' : '1');
      html(res, tooMany ? 429 : 503, loginPage(tooMany ? 'too_many' : 'unavailable'));
      return;
    }
    const key = (req.body as Record<string, unknown> | undefined)?.key;
    if (typeof key !== 'string' || !isAdminKey(key, deps.adminApiKey)) {
      deps.logger.warn({ ip: req.ip }, 'console sign-in refused: wrong key');
      html(res, 401, loginPage('wrong_key'));
      return;
    }
    await attempts.delete(req.ip ?? 'unknown').catch(() => undefined);
    let token: string;
    try {
      ({ token } = await deps.sessions.create());
    } catch {
      html(res, 503, loginPage('unavailable'));
      return;
    }
    res.setHeader('Set-Cookie', sessionCookieHeader(token, req.secure));
    res.redirect(303, '/console/');
  });

  // An unsafe request: the session middleware has checked its origin and token before this runs.
  router.post('/console/logout', async (req, res) => {
    const token = sessionCookie(req.headers.cookie);
    if (res.locals.consoleAdmin === true && token) await deps.sessions.end(token);
    res.setHeader('Set-Cookie', clearedCookieHeader(req.secure));
    html(res, 200, loginPage('signed_out'));
  });

  router.get('/console/vendor/:file', (req, res) => {
    const file = VENDOR[String(req.params.file)];
    if (!file) {
      res.status(404).json({ reason: 'not_found' });
      return;
    }
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.sendFile(file);
  });
  router.use('/console/assets', express.static(PUBLIC_DIR, { index: false, maxAge: 0 }));
  return router;
}
