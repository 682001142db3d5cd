import type { Queue } from 'bullmq';
import type { DeliverJobData, RouteJobData } from '@leadrouter/redis';
import type { WorkerDeps } from './deps.js';

/** How long a route or delivery job stays failed before it gets another full set of attempts. */
export const RETRY_FAILED_AFTER_MS = 60_000;
const PER_QUEUE = 100;

/**
 * A route or delivery job that failed for good (its processor threw on every one of BullMQ's
 * attempts: Redis faults that outlasted the backoff, or a bug) would leave its lead `queued` for
 * ever, nothing else moving it on. So once such a job has been failed for `afterMs`, and its lead is
 * still queued, it gets a fresh set of attempts; a failed job whose lead has ended (or expired) is
 * removed. Each retry is logged at error level and the failed jobs stay visible in
 * `leadrouter_queue_jobs{state="failed"}` and Bull Board until then, so a persistent bug shows while
 * its leads wait rather than being lost. Several workers may do this at once: a job already
 * retried or removed by another is skipped.
 */
export async function retryFailedJobs(deps: WorkerDeps, queues: ReadonlyArray<Queue<RouteJobData> | Queue<DeliverJobData>>, afterMs = RETRY_FAILED_AFTER_MS): Promise<number> {
  let retried = 0;
  const now = Date.now();
  for (const queue of queues) {
    // Both kinds of job carry the lead's id, which is all this needs. Oldest first, so that a
    // steady stream of new failures cannot hide the ones that have waited longest.
    for (const job of await (queue as Queue<RouteJobData | DeliverJobData>).getJobs(['failed'], 0, PER_QUEUE - 1, true)) {
      if (!job || (job.finishedOn ?? now) > now - afterMs) continue;
      const leadId = job.data.leadId;
      const status = await deps.state.status(leadId);
      try {
        if (status === 'queued') {
          await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          retried += 1;
          deps.logger.error({ queue: queue.name, jobId: job.id, leadId, failedReason: job.failedReason }, 'job had failed for good with its lead still queued: retrying it');
        } else {
          await job.remove();
        }
      } catch {
        // Retried or removed by another worker meanwhile.
      }
    }
  }
  return retried;
}
