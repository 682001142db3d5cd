import type { ResolvedRoute } from '@leadrouter/config';
import type { Lead } from '@leadrouter/lead';
import { buildPingRequest, capPeriods, NO_EVIDENCE, posteriorFor, rankBids, readPingReply, staticSkipReason, type BidderResult, type PingAnswer, type RankedBid } from '@leadrouter/routing';
import type { PingVerdict } from '@leadrouter/store';
import type { WorkerDeps } from './deps.js';
import { sendDelivery } from './send.js';

/** What an auction needs: the worker's, or the intake's for a supplier's ping (contract §9). */
export type AuctionDeps = Pick<WorkerDeps, 'destinations' | 'destinationState' | 'pingCircuits' | 'metrics' | 'config' | 'now' | 'logger'>;

/** A half-open bidder's probe lock outlives its ping by this much (a worker that dies mid-ping lets it go in time). */
const PROBE_LOCK_MARGIN_MS = 5_000;

export interface AuctionResult {
  bidders: BidderResult[];
  ranking: RankedBid[];
  durationMs: number;
}

/**
 * The ping phase of an auction route (contract §9): every eligible bidder (enabled, schedule,
 * accepts, circuit closed, caps with room: checked in one round trip, not reserved) is pinged at once, each within
 * its ping's timeoutMs and all within what is left of the route's deadlineMs (counted from the
 * start of the phase); what has not answered by then is a timeout. Returns each bidder's outcome and the ranking. Nothing of the lead's contact data is in
 * a ping (buildPingRequest).
 *
 * Pings feed the bidder's circuit (ping-circuits.ts): errors and timeouts count as failures, so a
 * dead bidder stops being pinged; past its cooldown one auction probes it.
 */
export async function runAuction(deps: AuctionDeps, route: ResolvedRoute & { auction: NonNullable<ResolvedRoute['auction']> }, lead: Lead, options: { supplierPing?: boolean } = {}): Promise<AuctionResult> {
  const started = performance.now();
  // The whole phase counts against the deadline, the eligibility reads included.
  const deadlineAt = started + route.auction.deadlineMs;
  const now = deps.now();
  const bidders = [];
  for (const { id } of route.destinations) {
    const destination = deps.destinations.get(id);
    if (!destination?.ping || staticSkipReason(destination, lead, now, new Set()) !== undefined) continue;
    bidders.push(destination);
  }
  const withRoom = await deps.destinationState.withRoom(bidders.map((d) => ({ id: d.id, caps: d.caps, periods: capPeriods(d, now) })));
  const halfOpen = bidders.filter((d) => withRoom.get(d.id) === 'half-open').map((d) => d.id);
  // Rare (a bidder past its cooldown): only then a second round trip, for the probe lock.
  const probing = halfOpen.length > 0 ? await deps.pingCircuits.claimProbes(halfOpen, route.auction.deadlineMs + PROBE_LOCK_MARGIN_MS) : new Set<string>();
  const eligible = bidders.filter((d) => withRoom.get(d.id) === 'closed' || withRoom.get(d.id) === 'failing' || probing.has(d.id));
  const remaining = Math.max(1, Math.round(deadlineAt - performance.now()));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), remaining);
  });
  // Read while the pings are out, not after them.
  const learning = route.auction.rank === 'expected' && eligible.length > 0 ? deps.destinationState.learned(eligible.map((d) => d.id), lead.geo) : undefined;
  const answers = await Promise.all(
    eligible.map(async (d) => {
      const ping = d.ping as NonNullable<typeof d.ping>;
      const sent = performance.now();
      // A ping that never reached the bidder (ours to fix) tells nothing of its health.
      let ours = false;
      const attempt = (async (): Promise<PingAnswer | 'timeout'> => {
        let request;
        try {
          request = buildPingRequest(ping, lead, { withoutQuality: options.supplierPing === true });
        } catch (err) {
          ours = true;
          return { outcome: 'error', error: `ping could not be built: ${(err as Error).message}` };
        }
        const result = await sendDelivery(request, Math.min(ping.timeoutMs, remaining));
        if (result.kind === 'failure') {
          ours = result.ownFault;
          return result.timeout ? 'timeout' : { outcome: 'error', error: result.error };
        }
        return readPingReply(ping, result.reply);
      })();
      // The loser of the race is left to finish (bounded by its timeout); it cannot throw.
      const answer = await Promise.race([attempt.catch((err: Error): PingAnswer => ({ outcome: 'error', error: err.message })), late]);
      const durationMs = Math.round(performance.now() - sent);
      const failed = answer === 'late' || answer === 'timeout' || answer.outcome === 'error';
      const verdict: PingVerdict = ours ? 'untouched' : failed ? 'fail' : 'ok';
      return { destination: d.id, answer: answer === 'late' ? ('timeout' as const) : answer, durationMs, verdict, circuit: d.circuit };
    }),
  );
  clearTimeout(timer);
  // Only verdicts that change a circuit go to Redis: a failure, an answer from a bidder with failures
  // counted or on probe, a probe that never left (its lock let go). Healthy bidders answering, the
  // common case, cost no round trip.
  const changing = answers.filter((a) => a.verdict === 'fail' || (withRoom.get(a.destination) !== 'closed' && (a.verdict === 'ok' || withRoom.get(a.destination) === 'half-open')));
  const recorded = deps.pingCircuits.record(changing.map((a) => ({ destination: a.destination, verdict: a.verdict, threshold: a.circuit.failures, cooldownMs: a.circuit.cooldownMs })));
  const acceptance = new Map<string, number>();
  if (learning) {
    const learnt = await learning;
    for (const d of eligible) {
      const posterior = posteriorFor(learnt.get(d.id) ?? NO_EVIDENCE, deps.config.learning.geoPrior);
      acceptance.set(d.id, posterior.a / (posterior.a + posterior.b));
    }
  }
  (await recorded).forEach((change, i) => {
    const destination = changing[i]?.destination as string;
    if (change === undefined) return;
    deps.metrics.circuitOpen.set({ destination }, change === 'opened' ? 1 : 0);
    deps.logger.warn({ destination }, `circuit ${change} by its pings`);
  });
  const { bidders: results, ranking } = rankBids(answers, route.auction, acceptance);
  for (const r of results) {
    deps.metrics.pings.inc({ destination: r.destination, outcome: r.outcome });
    deps.metrics.pingDuration.observe({ destination: r.destination }, r.durationMs / 1000);
    if (r.bid !== undefined) deps.metrics.bidAmount.observe({ destination: r.destination }, r.bid);
  }
  const durationMs = Math.round(performance.now() - started);
  deps.metrics.auctionDuration.observe(durationMs / 1000);
  return { bidders: results, ranking, durationMs };
}
