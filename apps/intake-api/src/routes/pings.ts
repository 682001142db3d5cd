import type { RedisClient } from '@leadrouter/redis';
import { Router, type Request, type Response } from 'express';
import { supplierOwed, supplierPayoutTerms, type ResolvedConfig, type ResolvedSupplier } from '@leadrouter/config';
import { newLeadId, validatePing } from '@leadrouter/lead';
import type { Logger } from '@leadrouter/logging';
import type { Metrics } from '@leadrouter/metrics';
import { matchRoute } from '@leadrouter/routing';
import { readBodyLimited } from '@leadrouter/service';
import type { DestinationState, PingCircuits, SupplierPings } from '@leadrouter/store';
// The ping phase alone (its own entry: the intake loads none of the worker's processors).
import { runAuction } from '@leadrouter/app-worker/auction';
import type { SupplierDirectory } from '../auth.js';
import { MAX_BODY_BYTES, parseBody } from '../body.js';
import { SupplierRateLimits } from '../rate-limit.js';
import { supplierGate } from '../supplier-gate.js';

export interface PingRoutesDeps {
  config: ResolvedConfig;
  suppliers: SupplierDirectory;
  pings: SupplierPings;
  pingLimits: SupplierRateLimits;
  destinationState: DestinationState;
  pingCircuits: PingCircuits;
  metrics: Metrics;
  logger: Logger;
}

/**
 * `rateLimit.pingsPerSecond` per supplier: the leads' limiter (rate-limit.ts: in Redis, every
 * intake counting together, memory when Redis is away), counting pings apart from leads. A
 * supplier without one is not limited.
 */
export function supplierPingLimits(redis: RedisClient, keyPrefix: string, suppliers: readonly ResolvedSupplier[]): SupplierRateLimits {
  const limited = suppliers.flatMap((s) => (s.rateLimit?.pingsPerSecond === undefined ? [] : [{ id: s.id, rateLimit: { perSecond: s.rateLimit.pingsPerSecond } }]));
  return new SupplierRateLimits(redis, `${keyPrefix}:ping`, limited);
}

/**
 * Supplier pings (contract §9): `POST /v1/pings` with a lead's fields but no contact data runs the
 * auction of the route that lead would take and answers within the route's deadline: a bid (what
 * the supplier is paid if the post sells, and the `pingId` to post the lead with within bidTtlMs)
 * or `no_bid`. The contact fields, if sent, are dropped unread. Pings are never deduped.
 */
export function pingRoutes(deps: PingRoutesDeps): Router {
  const router = Router();
  const rawBody = readBodyLimited(MAX_BODY_BYTES);
  // The router is built per running config (start.ts rebuilds the app on a change): once, not per ping.
  const destinations = new Map(deps.config.destinations.map((d) => [d.id, d]));
  router.post(
    '/v1/pings',
    supplierGate({ suppliers: deps.suppliers, consume: (id) => deps.pingLimits.consume(id) }),
    rawBody,
    async (req: Request, res: Response) => {
      const supplier = res.locals.supplier as ResolvedSupplier;
      const parsed = parseBody(res.locals.bodyKind as 'json' | 'form', Buffer.isBuffer(req.body) ? req.body : undefined);
      const checked = parsed.ok ? validatePing(parsed.value) : parsed;
      if (!checked.ok) {
        res.status(400).json({ status: 'rejected', reason: 'invalid', errors: checked.errors });
        return;
      }
      const { ping } = checked;
      const pingId = newLeadId();
      // Matched without contact data, so as if its quality were the best: the post is checked again.
      const route = matchRoute(deps.config.routes, { id: pingId, supplier: supplier.id, geo: ping.geo, source: ping.source, quality: 1, fields: { ...ping.fields, geo: ping.geo, source: ping.source } });
      if (!route || route.strategy !== 'auction' || !route.auction) {
        res.json({ status: 'no_bid' });
        return;
      }
      const lead = { id: pingId, supplier: supplier.id, createdAt: Date.now(), quality: 1, name: '', phone: '', phoneNational: '', geo: ping.geo, source: ping.source, fields: ping.fields };
      try {
        const auction = await runAuction({ destinations, destinationState: deps.destinationState, pingCircuits: deps.pingCircuits, metrics: deps.metrics, config: deps.config, now: () => new Date(), logger: deps.logger }, { ...route, auction: route.auction }, lead, { supplierPing: true });
        const top = auction.ranking[0];
        if (!top) {
          res.json({ status: 'no_bid' });
          return;
        }
        const expiresAt = new Date(Date.now() + route.auction.bidTtlMs).toISOString();
        await deps.pings.hold({ supplier: supplier.id, geo: ping.geo, source: ping.source, fields: ping.fields, expiresAt, auction: { pingId, route: route.id, durationMs: auction.durationMs, bidders: auction.bidders, ranking: auction.ranking } }, route.auction.bidTtlMs);
        // What the supplier is paid if the post sells as ranked: to the best bidder, or for a shared
        // route to its `maxSales` best (each sale paid): its fixed amount per sale, or its share of
        // each bid; none: 0.
        const terms = supplierPayoutTerms(supplier);
        const sold = auction.ranking.slice(0, route.auction.maxSales);
        const payout = terms ? Math.round(sold.reduce((sum, b) => sum + supplierOwed(terms, b.bid), 0) * 100) / 100 : 0;
        res.json({ status: 'bid', pingId, payout, expiresAt });
      } catch (err) {
        deps.logger.warn({ err: (err as Error).name }, 'ping not answered (Redis unavailable?)');
        res.status(503).setHeader('Retry-After', '1').json({ status: 'rejected', reason: 'unavailable' });
      }
    },
  );
  return router;
}
