import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@leadrouter/logging';
import { secretMatches } from '../auth.js';
import { sessionCookie, type ConsoleSessions } from './sessions.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a request comes from a page of this origin. Browsers send `Origin` with every
 * cross-origin request and with same-origin unsafe ones; when it is there it must be ours. (A
 * request without one is not a browser's cross-site request: the token check still applies.)
 */
export function sameOrigin(req: Request): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Marks a request carrying a live console session as the admin's (`res.locals.consoleAdmin`),
 * for the admin and ledger endpoints the console calls. An unsafe request (anything but GET/HEAD)
 * must also come from our origin and carry the session's token in X-CSRF-Token: a page on another
 * site can make the browser send the cookie (SameSite does not separate two ports of one host),
 * but it cannot read the token. Such a request is refused with 403, not passed on unauthenticated.
 * A request that presents a key is judged by its key alone.
 */
export function consoleSessionMiddleware(sessions: ConsoleSessions, logger: Logger) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = sessionCookie(req.headers.cookie);
    if (token === undefined || req.headers['x-api-key'] !== undefined || req.headers.authorization !== undefined) return next();
    let session;
    try {
      session = await sessions.find(token);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'console session not read (Redis down?)');
      res.status(503).setHeader('Retry-After', '1').json({ ok: false, reason: 'unavailable' });
      return;
    }
    if (!session) return next();
    if (!SAFE_METHODS.has(req.method)) {
      const header = req.headers['x-csrf-token'];
      if (!sameOrigin(req) || !secretMatches(typeof header === 'string' ? header : undefined, session.csrf)) {
        res.status(403).json({ ok: false, reason: 'csrf', message: 'a console action needs its page: cross-site requests are refused' });
        return;
      }
    }
    res.locals.consoleAdmin = true;
    res.locals.consoleCsrf = session.csrf;
    next();
  };
}
