import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { ResolvedSupplier } from '@leadrouter/config';

/** The key from `X-Api-Key: KEY` or `Authorization: Bearer KEY`. */
export function presentedKey(req: Request): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1];
  }
  return undefined;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Finds the supplier owning an API key. Keys are compared as SHA-256 digests: hashing first makes
 * the comparison independent of how many leading characters of the secret a guess got right, and
 * timingSafeEqual confirms the match in constant time.
 */
export class SupplierDirectory {
  private readonly byDigest = new Map<string, { supplier: ResolvedSupplier; digest: Buffer }>();

  constructor(suppliers: readonly ResolvedSupplier[]) {
    for (const supplier of suppliers) {
      for (const d of supplier.keyDigests) this.byDigest.set(d.toString('hex'), { supplier, digest: d });
    }
  }

  authenticate(key: string | undefined): ResolvedSupplier | undefined {
    if (key === undefined) return undefined;
    const presented = digest(key);
    const entry = this.byDigest.get(presented.toString('hex'));
    return entry && timingSafeEqual(entry.digest, presented) ? entry.supplier : undefined;
  }
}

/** Constant-time check of the admin key; false when no ADMIN_API_KEY is configured. */
export function isAdminKey(key: string | undefined, adminKey: string | undefined): boolean {
  return secretMatches(key, adminKey);
}

/** Constant-time comparison of a presented secret (a key, a console session's cross-site token) with the expected one; false when either is missing. */
export function secretMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (presented === undefined || expected === undefined) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * Whether the request is the admin's: the admin key (X-Api-Key, Bearer), or a console session the
 * console middleware checked (its cross-site protection included) and marked on `res.locals`.
 */
export function isAdminRequest(req: Request, res: Response, adminKey: string | undefined): boolean {
  return (adminKey !== undefined && res.locals.consoleAdmin === true) || isAdminKey(presentedKey(req), adminKey);
}
