import type { Job, Queue } from 'bullmq';
import { deliverJobRound, routeJobRound, type DeliverJobData, type RouteJobData } from '@leadrouter/redis';
import type { WorkerDeps } from './deps.js';

/** How long a route or delivery job stays failed before its first revival; each later one waits twice as long. */
export const RETRY_FAILED_AFTER_MS = 60_000;
/** Revivals of one job before it is left failed for an operator (about an hour of waiting with the default delay). */
export const MAX_REVIVALS = 6;
/** Failed jobs looked at per queue and round, and at most this many times over in pages past the ones left for an operator. */
const PAGE = 100;
const MAX_PAGES = 5;

type AnyJob = Job<RouteJobData | DeliverJobData>;

/** The routing round a failed job was queued for: a route job's id carries it, a delivery job's data too. */
function roundOf(job: AnyJob, isRouteQueue: boolean): number {
  return isRouteQueue ? routeJobRound(job.id) : deliverJobRound(job as Job<DeliverJobData>);
}

/**
 * A route or delivery job that failed for good (its processor threw on every one of BullMQ's
 * attempts: Redis faults that outlasted the backoff, or a bug).
 * - While its lead is still queued in the job's own routing round, nothing else would move the lead
 *   on, so the job is revived (a fresh set of attempts) once it has been failed for `afterMs`, then
 *   twice as long each time, up to MAX_REVIVALS times. Then it is left failed for an operator: a
 *   fault that lasts for hours is a bug, and a delivery job that throws after its send would
 *   otherwise repeat that send for ever.
 * - When its lead ended in that round (sold or unsold), the job may have failed while telling the
 *   supplier; re-running it after postbacks moved the lead on is not safe, so it is left failed
 *   for an operator too (BullMQ drops it after 7 days), and logged once.
 * - When its lead has expired or was redelivered into a later round, it is removed.
 * Every revival and every job left for an operator is logged at error level; failed jobs stay
 * visible in `leadrouter_queue_jobs{state="failed"}` (alert `LeadRouterJobsFailed`) and the queue
 * board. Several workers may do this at once: BullMQ lets only one of them revive or remove a job,
 * and a job is re-read just before a revival so that one failed again meanwhile is not revived twice.
 * `reported` holds the jobs left for an operator and logged already, so that each is logged once
 * (the caller empties it now and then, as a reminder).
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
    // Oldest first, so that a steady stream of new failures cannot hide the ones that waited longest;
    // pages go past the jobs left for an operator, so that those cannot hide newer ones either.
    let handled = 0;
    for (let page = 0; page < MAX_PAGES && handled < PAGE; page++) {
      const jobs = (await queue.getJobs(['failed'], page * PAGE, (page + 1) * PAGE - 1, true)) as AnyJob[];
      for (const job of jobs) {
        if (!job?.id) continue;
        // Jobs left for an operator are still looked at (their lead may expire), but do not use up the page.
        if (!reported.has(job.id)) handled += 1;
        if (await handleFailedJob(deps, queue, job, roundOf(job, isRouteQueue), now, afterMs, reported)) revived += 1;
      }
      if (jobs.length < PAGE) break;
    }
  }
  return revived;
}

/** Revives, removes or leaves one failed job (see retryFailedJobs); true when it was revived. */
async function handleFailedJob(deps: WorkerDeps, queue: Queue<RouteJobData | DeliverJobData>, job: AnyJob, jobRound: number, now: number, afterMs: number, reported: Set<string>): Promise<boolean> {
  const id = job.id as string;
  const { leadId } = job.data;
  const times = job.data.revived ?? 0;
  const log = { queue: queue.name, jobId: id, leadId, revived: times, attemptsMade: job.attemptsMade };
  const leaveForOperator = (message: string): false => {
    if (!reported.has(id)) deps.logger.error(log, message);
    reported.add(id);
    return false;
  };
  try {
    const lead = await deps.lifecycle.statusAndRound(leadId);
    if (lead.status === null || lead.round !== jobRound) {
      await job.remove();
      return false;
    }
    if (!lead.delivering) return leaveForOperator('job failed for good after its lead ended (it may owe the supplier a notification): left failed; retry it from the queue board once the fault is found');
    if ((job.finishedOn ?? now) > now - afterMs * 2 ** times) return false;
    if (times >= MAX_REVIVALS) return leaveForOperator('job failed for good again and again with its lead still queued: left failed; retry it from the queue board once the fault is found');
    // Another worker may have revived this job since it was listed, and it may have failed again.
    const fresh = await queue.getJob(id);
    if (!fresh || fresh.finishedOn !== job.finishedOn || (fresh.data.revived ?? 0) !== times) return false;
    await job.updateData({ ...job.data, revived: times + 1 });
    // The failure reason is not logged: an error's message may quote lead data. The queue board shows it.
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    deps.logger.error(log, 'job had failed for good with its lead still queued: retrying it');
    return true;
  } catch (err) {
    // Another worker revived or removed it meanwhile: nothing to say. Anything else is reported.
    if ((await queue.getJobState(id).catch(() => 'unknown')) === 'failed') {
      deps.logger.warn({ ...log, err: (err as Error).message }, 'could not revive or remove a failed job');
    }
    return false;
  }
}
