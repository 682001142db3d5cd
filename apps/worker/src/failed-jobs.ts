import type { Job, Queue } from 'bullmq';
import { deliverJobRound, routeJobRound, type DeliverJobData, type RouteJobData } from '@leadrouter/redis';
import type { WorkerDeps } from './deps.js';

/** How long a route or delivery job stays failed before its first revival; each later one waits twice as long. */
export const RETRY_FAILED_AFTER_MS = 60_000;
/** Revivals of one job before it is left failed for an operator (about an hour of waiting with the default delay). */
export const MAX_REVIVALS = 6;
const PER_QUEUE = 100;

type AnyJob = Job<RouteJobData | DeliverJobData>;

/** The routing round a failed job was queued for: a route job's id carries it, a delivery job's data too. */
function roundOf(job: AnyJob, isRouteQueue: boolean): number {
  return isRouteQueue ? routeJobRound(job.id) : deliverJobRound(job as Job<DeliverJobData>);
}

/**
 * A route or delivery job that failed for good (its processor threw on every one of BullMQ's
 * attempts: Redis faults that outlasted the backoff, or a bug) would leave its lead `queued` for
 * ever, nothing else moving it on. So such a job, while its lead is still queued in the job's own
 * routing round, is revived (a fresh set of attempts) after it has been failed for `afterMs`, then
 * twice as long each time, up to MAX_REVIVALS times: a fault that lasts for hours is a bug for an
 * operator, and a delivery job that throws after its send would otherwise repeat that send for
 * ever. A failed job whose lead has ended, expired or moved on to a later round is removed. Every
 * revival and every give-up is logged at error level, and the failed jobs stay visible in
 * `leadrouter_queue_jobs{state="failed"}` (alert `LeadRouterJobsFailed`) and the queue board.
 * Several workers may do this at once: BullMQ lets only one of them revive or remove a job.
 */
export async function retryFailedJobs(
  deps: WorkerDeps,
  routeQueue: Queue<RouteJobData>,
  deliverQueues: Iterable<Queue<DeliverJobData>>,
  afterMs = RETRY_FAILED_AFTER_MS,
  reported: Set<string> = new Set(),
): Promise<number> {
  let revived = 0;
  const now = Date.now();
  for (const queue of [routeQueue, ...deliverQueues] as Array<Queue<RouteJobData | DeliverJobData>>) {
    const isRouteQueue = queue === (routeQueue as Queue<RouteJobData | DeliverJobData>);
    // Oldest first, so that a steady stream of new failures cannot hide the ones that waited longest.
    for (const job of (await queue.getJobs(['failed'], 0, PER_QUEUE - 1, true)) as AnyJob[]) {
      if (!job?.id) continue;
      const { leadId } = job.data;
      const times = job.data.revived ?? 0;
      const log = { queue: queue.name, jobId: job.id, leadId, revived: times, attemptsMade: job.attemptsMade };
      try {
        const lead = await deps.state.statusAndRound(leadId);
        if (lead.status !== 'queued' || lead.round !== roundOf(job, isRouteQueue)) {
          await job.remove();
          continue;
        }
        if ((job.finishedOn ?? now) > now - afterMs * 2 ** times) continue;
        if (times >= MAX_REVIVALS) {
          if (!reported.has(job.id)) {
            reported.add(job.id);
            deps.logger.error(log, 'job failed for good again and again with its lead still queued: left failed; retry it from the queue board once the fault is found');
          }
          continue;
        }
        await job.updateData({ ...job.data, revived: times + 1 });
        // The failure reason is not logged: an error's message may quote lead data. The queue board shows it.
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        revived += 1;
        deps.logger.error(log, 'job had failed for good with its lead still queued: retrying it');
      } catch (err) {
        // Another worker revived or removed it meanwhile: nothing to say. Anything else is reported.
        if ((await queue.getJobState(job.id).catch(() => 'unknown')) === 'failed') {
          deps.logger.warn({ ...log, err: (err as Error).message }, 'could not revive or remove a failed job');
        }
      }
    }
  }
  return revived;
}
