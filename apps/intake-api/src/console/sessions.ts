import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { RedisKeys, RedisClient } from '@leadrouter/redis';

/** How long a console session lasts from sign-in (12 hours: a working day, then sign in again). */
export const SESSION_TTL_SECONDS = 12 * 3600;
export const SESSION_COOKIE = 'lr_console';

export interface ConsoleSession {
  /** The token every unsafe request of this session must carry in X-CSRF-Token. */
  csrf: string;
  createdAt: string;
  /** A fingerprint of the admin key it was signed in with: rotating ADMIN_API_KEY ends every session. */
  keyPrint: string;
}

/**
 * Console sessions (contract §11), in Redis so that every intake process of the install knows
 * them. Only the SHA-256 of the cookie is a key: reading Redis gives no one a session.
 */
export class ConsoleSessions {
  private readonly keyPrint: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    adminApiKey: string | undefined,
  ) {
    // Not the key, nor its plain SHA-256 (which could be looked up): an HMAC of a fixed label under the key.
    this.keyPrint = adminApiKey === undefined ? '' : createHmac('sha256', adminApiKey).update('leadrouter console session').digest('base64url').slice(0, 22);
  }

  /** A new session: the cookie's value, and its cross-site token. */
  async create(): Promise<{ token: string; session: ConsoleSession }> {
    const token = randomBytes(32).toString('base64url');
    const session = { csrf: randomBytes(24).toString('base64url'), createdAt: new Date().toISOString(), keyPrint: this.keyPrint };
    await this.redis.set(this.key(token), JSON.stringify(session), 'EX', SESSION_TTL_SECONDS);
    return { token, session };
  }

  async find(token: string): Promise<ConsoleSession | undefined> {
    // A cookie is ours only if it has the shape we give (43 base64url characters): anything else is not looked up.
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const text = await this.redis.get(this.key(token));
    if (!text) return undefined;
    try {
      const session = JSON.parse(text) as Partial<ConsoleSession>;
      if (typeof session.csrf !== 'string' || typeof session.createdAt !== 'string' || session.keyPrint !== this.keyPrint || this.keyPrint === '') return undefined;
      return { csrf: session.csrf, createdAt: session.createdAt, keyPrint: session.keyPrint };
    } catch {
      return undefined;
    }
  }

  async end(token: string): Promise<void> {
    await this.redis.del(this.key(token));
  }

  private key(token: string): string {
    return this.keys.consoleSession(createHash('sha256').update(token).digest('hex'));
  }
}

/** The session cookie's value from a Cookie header, if there is one. */
export function sessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return rest.join('=');
  }
  return undefined;
}

export function sessionCookieHeader(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_SECONDS}${secure ? '; Secure' : ''}`;
}

export function clearedCookieHeader(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
