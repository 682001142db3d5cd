import type { NextFunction, Request, Response } from 'express';
import type { ResolvedSupplier } from '@leadrouter/config';
import { presentedKey, type SupplierDirectory } from './auth.js';
import { checkContentType } from './body.js';
import type { RateDecision } from './rate-limit.js';

/** How long the rest of a refused body is read (and dropped) after the answer, before the socket is closed. */
const REFUSED_BODY_DRAIN_MS = 1_000;

/**
 * Answers a request refused before its body was read (401, 429, 415), at once: a client trickling
 * its body must not hold the connection until the last byte. The connection closes after the
 * answer; what the client is still sending is read and dropped for a moment, so that it reads the
 * answer rather than a reset, then the socket is closed whatever the client does.
 */
export function answerBeforeBody(req: Request, res: Response, answer: () => void): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (req.readableEnded || declared === 0) return answer();
  res.setHeader('Connection', 'close');
  answer();
  const timer = setTimeout(() => req.socket.destroy(), REFUSED_BODY_DRAIN_MS);
  timer.unref();
  req.once('close', () => clearTimeout(timer));
  req.on('error', () => req.socket.destroy());
  req.resume();
}

export interface SupplierGateOptions {
  suppliers: SupplierDirectory;
  /** The supplier's own rate limit for this endpoint. */
  consume(supplier: string): Promise<RateDecision>;
  /** Told of each refusal (supplier 'unknown' for a wrong key), e.g. to count it. */
  refused?(supplier: string, reason: 'unauthorized' | 'rate_limited' | 'unsupported_media_type'): void;
}

/**
 * What a supplier's POST (a lead, a ping) passes before its body is read: its key (401), its
 * rate limit (429), a body type LeadRouter reads (415). Sets `res.locals.supplier` and
 * `res.locals.bodyKind` for the handlers after it.
 */
export function supplierGate(o: SupplierGateOptions) {
  const refuse = (req: Request, res: Response, supplier: string, reason: 'unauthorized' | 'rate_limited' | 'unsupported_media_type', code: number, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void => {
    o.refused?.(supplier, reason);
    answerBeforeBody(req, res, () => {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.status(code).json({ status: 'rejected', reason, ...extra });
    });
  };
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const supplier: ResolvedSupplier | undefined = o.suppliers.authenticate(presentedKey(req));
    if (!supplier) return refuse(req, res, 'unknown', 'unauthorized', 401);
    res.locals.supplier = supplier;
    const decision = await o.consume(supplier.id);
    if (!decision.ok) return refuse(req, res, supplier.id, 'rate_limited', 429, {}, { 'Retry-After': String(decision.retryAfterSeconds) });
    const type = checkContentType(req.headers['content-type']);
    if (!type.ok) return refuse(req, res, supplier.id, 'unsupported_media_type', 415, { message: type.message });
    res.locals.bodyKind = type.kind;
    next();
  };
}
