import { Router, type Request, type Response } from 'express';
import type { DestinationConfig } from '@leadrouter/config';
import { readBodyLimited } from '@leadrouter/service';
import { applyPostback, type ApplyPostbackDeps } from './apply-postback.js';
import { isSignedRequest } from './auth.js';

export type PostbackRoutesDeps = ApplyPostbackDeps;

const MAX_BODY_BYTES = 64 * 1024;

/**
 * Where a tracker puts its parameters: the query, then the body (JSON or form) on top. For a
 * signed request (Standard Webhooks) only the signed body counts: a query string is outside the
 * signature, so anything in it could have been added by anyone who saw one signed request.
 */
function collectParams(req: Request, signedOnly: boolean): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (!signedOnly) for (const [key, value] of Object.entries(req.query)) params[key] = value;
  const raw = Buffer.isBuffer(req.body) ? req.body : undefined;
  if (!raw || raw.length === 0) return params;
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const text = raw.toString('utf8');
  if (type === 'application/json') {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      for (const [key, value] of Object.entries(parsed)) params[key] = value;
    } catch {
      return undefined;
    }
  } else {
    for (const [key, value] of new URLSearchParams(text)) params[key] = key in params && params[key] !== value ? [params[key], value] : value;
  }
  return params;
}

/** `GET` and `POST /v1/postbacks/:destinationId`: collects the request, `applyPostback` decides it. */
export function postbackRoutes(deps: PostbackRoutesDeps): Router {
  const router = Router();
  const destinations = new Map<string, DestinationConfig>(deps.config.destinations.map((d) => [d.id, d]));

  const handle = async (req: Request, res: Response): Promise<void> => {
    const destination = destinations.get(String(req.params.destinationId));
    if (!destination) {
      deps.metrics.postbacks.inc({ destination: 'unknown', source: 'unknown', status: 'other', result: 'not_found' });
      res.status(404).json({ ok: false, reason: 'not_found' });
      return;
    }
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const params = collectParams(req, isSignedRequest(destination, header('webhook-signature')));
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    const answer = await applyPostback(deps, {
      destination,
      params,
      token: typeof params?.token === 'string' ? params.token : header('x-postback-token'),
      signed: {
        id: header('webhook-id'),
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
        rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      },
      gone: () => gone,
    });
    res.status(answer.code).json(answer.body);
  };

  const body = readBodyLimited(MAX_BODY_BYTES);
  router.get('/v1/postbacks/:destinationId', body, handle);
  router.post('/v1/postbacks/:destinationId', body, handle);
  return router;
}
