import type { Job } from 'bullmq';
import { estimateRevenue, matchRoute, NO_EVIDENCE, orderCandidates, type RevenueEstimate } from '@leadrouter/routing';
import type { ResolvedRoute } from '@leadrouter/config';
import type { Lead } from '@leadrouter/lead';
import { notificationKey, type RouteJobData } from '@leadrouter/redis';
import { stillDelivering, type DeliveryPlan, type LeadEvent } from '@leadrouter/store';
import { startDelivery } from './advance.js';
import type { WorkerDeps } from './deps.js';
import { finishUnsold } from './outcomes.js';
import { resumeCompactedLead } from './resume-step.js';
import { runAuction } from './auction.js';

/**
 * The `route` job of a newly accepted lead: take it out of the intake's outbox, choose its route
 * and the ordered candidates once (the plan), then hand it to the first eligible destination.
 */
export function createRouteProcessor(deps: WorkerDeps) {
  // Computed once per config (a reload or an override replaces deps.destinations), not per lead.
  let payoutsOf: ReadonlyMap<string, unknown> | undefined;
  let payouts = new Map<string, number>();
  return async (job: Job<RouteJobData>): Promise<void> => {
    if (payoutsOf !== deps.destinations) {
      payoutsOf = deps.destinations;
      payouts = new Map([...deps.destinations.values()].map((d) => [d.id, d.payout]));
    }
    const { leadId } = job.data;
    const loaded = await deps.lifecycle.pickUp(leadId);
    if (!loaded) {
      if (await resumeCompactedLead(deps, leadId)) return;
      deps.logger.warn({ leadId }, 'route job for a lead that is not stored (expired?): skipped');
      return;
    }
    if (!stillDelivering(loaded)) {
      // A re-run after the lead already ended unsold (a crash right after): the supplier must still
      // hear of it; the job id keeps it to one notification.
      if (loaded.status === 'unsold') await deps.notifier.notify(loaded.lead.supplier, leadId, 'unsold', notificationKey.unsold(loaded.round));
      return;
    }
    const { lead } = loaded;
    let plan = loaded.plan;
    if (!plan) {
      const route = matchRoute(deps.config.routes, {
        id: lead.id,
        supplier: lead.supplier,
        geo: lead.geo,
        source: lead.source,
        quality: lead.quality,
        fields: { ...lead.fields, name: lead.name, phone: lead.phone, geo: lead.geo, source: lead.source, email: lead.email, click_id: lead.click_id, ip: lead.ip },
      });
      if (!route) {
        await finishUnsold(deps, lead, 'no_route', '', loaded.round);
        return;
      }
      const chosen = route.strategy === 'auction' && route.auction ? await auctionPlan(deps, { ...route, auction: route.auction }, lead, job.data.auction, loaded.round) : await strategyPlan(deps, route, lead, payouts, loaded.round);
      plan = (await deps.lifecycle.setPlan(leadId, chosen.plan, chosen.event)).plan;
    }
    await startDelivery(deps, lead, plan, loaded.attempts > 0 && loaded.round === 0);
  };
}

/**
 * An auction route's plan (contract §9): the ping phase (or the supplier's ping already ran it: its
 * bidders, in its order, not pinged again), then the ranked bidders and the route's direct-post
 * fallback, with the winning bids; its `auction` event.
 */
async function auctionPlan(
  deps: WorkerDeps,
  route: ResolvedRoute & { auction: NonNullable<ResolvedRoute['auction']> },
  lead: Lead,
  supplierPing: RouteJobData['auction'],
  round: number,
): Promise<{ plan: DeliveryPlan; event: LeadEvent }> {
  const pinged = supplierPing?.route === route.id ? supplierPing : undefined;
  const auction = pinged ? { ...pinged, ranking: pinged.ranking.filter((b) => deps.destinations.has(b.destination)) } : await runAuction(deps, route, lead);
  // The config check keeps bidders out of the fallback; the Set is for a reload that moved one there.
  const candidates = [...new Set([...auction.ranking.map((b) => b.destination), ...route.fallback])];
  const shared = route.auction.mode === 'shared';
  const bids = Object.fromEntries(auction.ranking.map((b) => [b.destination, { bid: b.bid, ...(b.reference ? { reference: b.reference } : {}) }]));
  const event = {
    at: deps.now().toISOString(),
    type: 'auction' as const,
    route: route.id,
    strategy: route.strategy,
    candidates,
    rank: route.auction.rank,
    floor: route.auction.floor,
    ...(shared ? { mode: 'shared', maxSales: route.auction.maxSales } : {}),
    durationMs: auction.durationMs,
    ...(pinged ? { pingId: pinged.pingId } : {}),
    bidders: auction.bidders.map((b) => ({ destination: b.destination, outcome: b.outcome, ...(b.bid === undefined ? {} : { bid: b.bid }), durationMs: b.durationMs, ...(b.error ? { error: b.error } : {}) })),
    ranking: auction.ranking.map(({ destination, bid, value }) => ({ destination, bid, value })),
  };
  // Shared (contract §9): `maxSales` lanes, each its own chain down the ranking.
  return { plan: { route: route.id, candidates, round, bids, ...(shared ? { lanes: route.auction.maxSales } : {}) }, event };
}

/** Any other route's plan: its destinations in strategy order, then its fallback; its `routed` event (with best_revenue's estimates). */
async function strategyPlan(deps: WorkerDeps, route: ResolvedRoute, lead: Lead, payouts: ReadonlyMap<string, number>, round: number): Promise<{ plan: DeliveryPlan; event: LeadEvent }> {
  const rotation = route.strategy === 'round_robin' ? await deps.lifecycle.nextRotation(route.id) : 0;
  const learnt = route.strategy === 'best_revenue' ? await revenueEstimates(deps, route.destinations.map((d) => d.id), lead.geo, payouts) : undefined;
  const candidates = orderCandidates(route, {
    random: deps.random,
    rotation: rotation - 1,
    payouts,
    ...(learnt ? { estimates: new Map([...learnt].map(([id, e]) => [id, e.sampled])) } : {}),
  });
  const event = {
    at: deps.now().toISOString(),
    type: 'routed' as const,
    route: route.id,
    strategy: route.strategy,
    candidates,
    // best_revenue explains itself: each destination's expected and sampled revenue per lead.
    ...(learnt ? { estimates: Object.fromEntries([...learnt].map(([id, e]) => [id, { expected: round3(e.expected), sampled: round3(e.sampled), payout: round3(e.payout), geoObservations: round3(e.geoObservations) }])) } : {}),
  };
  return { plan: { route: route.id, candidates, round }, event };
}

async function revenueEstimates(deps: WorkerDeps, destinations: string[], geo: string, payouts: ReadonlyMap<string, number>): Promise<Map<string, RevenueEstimate>> {
  const counts = await deps.destinationState.learned(destinations, geo);
  return new Map(
    destinations.map((id) => [id, estimateRevenue(payouts.get(id) ?? 0, counts.get(id) ?? NO_EVIDENCE, deps.config.learning.geoPrior, deps.random)]),
  );
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
