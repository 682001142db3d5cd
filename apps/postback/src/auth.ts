import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DestinationConfig } from '@leadrouter/config';
import { secretsEqual } from '@leadrouter/service';

/** Standard Webhooks: a timestamp more than this far from now is refused (replays). */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export interface SignedRequest {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
}

/**
 * Standard Webhooks verification: HMAC-SHA256 keyed by the base64 secret after `whsec_`, over
 * `${webhook-id}.${webhook-timestamp}.${body}`; `webhook-signature` holds one or more
 * space-separated `v1,<base64>` (several during a secret rotation). Returns why it failed, or undefined.
 */
export function verifySignature(secret: string, req: SignedRequest, nowSeconds = Math.floor(Date.now() / 1000)): string | undefined {
  if (!req.id || !req.timestamp || !req.signature) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  const timestamp = Number(req.timestamp);
  if (!/^\d+$/.test(req.timestamp) || Math.abs(nowSeconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return 'timestamp outside the 5-minute tolerance';
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${req.id}.${req.timestamp}.`).update(req.rawBody).digest();
  for (const part of req.signature.split(' ')) {
    const [version, value] = part.split(',');
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
  }
  return 'no valid signature';
}

export type PostbackAuth = { ok: true; eventId?: string } | { ok: false };

/** A request that authenticates by signature: the destination has a secret and a signature came. */
export function isSignedRequest(destination: DestinationConfig, signatureHeader: string | undefined): boolean {
  return destination.postback?.secret !== undefined && signatureHeader !== undefined;
}

/** A destination's token (parameter or header), or its Standard Webhooks signature when it has a secret. */
export function authenticate(destination: DestinationConfig, token: string | undefined, signed: SignedRequest): PostbackAuth {
  const config = destination.postback;
  if (!config) return { ok: false };
  if (isSignedRequest(destination, signed.signature)) {
    return verifySignature(config.secret as string, signed) === undefined ? { ok: true, ...(signed.id ? { eventId: signed.id } : {}) } : { ok: false };
  }
  if (config.token && token !== undefined && secretsEqual(token, config.token)) return { ok: true };
  return { ok: false };
}
