import type { Queue } from 'bullmq';
import { capPeriods, expectedRevenue, NO_EVIDENCE } from '@leadrouter/routing';
import { ROUTE_JOB_OPTIONS, routeJobId, type RouteJobData } from '@leadrouter/redis';
import type { WorkerDeps } from './deps.js';
import { retryFailedJobs } from './failed-jobs.js';
import { queueOwedNotifications } from './owed-notifications.js';

/** A lead stored by the intake but not picked up after this long is queued again by the sweeper. */
export const STRANDED_AFTER_MS = 10_000;
const EVERY_MS = 5_000;
/** An owed destination effect still there after this long was left by a crash: housekeeping applies it. */
export const OWED_EFFECT_AFTER_MS = 5_000;

export interface HousekeepingOptions {
  everyMs?: number;
  /** How long a job stays failed for good before it is retried (see failed-jobs.ts). */
  retryFailedAfterMs?: number;
  /** How old an entry of the postback service's notification outbox is before a worker queues it (see owed-notifications.ts). */
  owedNotificationAfterMs?: number;
}

/**
 * Periodic work of every worker process: re-queue leads stranded in the outbox (stored, but the
 * enqueue failed), retry route and delivery jobs that failed for good while their lead is still
 * queued, queue supplier notifications that the postback service left in its outbox, apply the
 * destination effects and settle the cap holds a crash left between a step's halves, forget
 * expired entries of the unsold index, and refresh the gauges of circuits, caps and
 * queue depths. Each round is a bounded number of O(1) or O(log n) commands: no scans.
 */
export interface Housekeeping {
  stop(): void;
  /**
   * Resolves once `count` more rounds have run to their end, so a test can prove that nothing
   * happened over several rounds without guessing how long they take.
   */
  afterRounds(count: number): Promise<void>;
}

export function startHousekeeping(deps: WorkerDeps, routeQueue: Queue<RouteJobData>, options: HousekeepingOptions = {}): Housekeeping {
  const everyMs = options.everyMs ?? EVERY_MS;
  let running = false;
  let completed = 0;
  const waiting: Array<{ until: number; resolve: () => void }> = [];
  // Failed jobs already reported as left for an operator: the log says it once an hour, not every round.
  const reportedFailures = new Set<string>();
  let reportedSince = Date.now();
  const round = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      for (const leadId of await deps.sweeps.strandedPending(STRANDED_AFTER_MS, 500)) {
        await routeQueue.add('route', { leadId }, { ...ROUTE_JOB_OPTIONS, jobId: routeJobId(leadId, await deps.lifecycle.round(leadId)) });
      }
      if (Date.now() - reportedSince > 3_600_000) {
        reportedFailures.clear();
        reportedSince = Date.now();
      }
      await retryFailedJobs(deps, routeQueue, deps.deliverQueues.values(), options.retryFailedAfterMs, reportedFailures);
      await queueOwedNotifications(deps, options.owedNotificationAfterMs);
      // What a crash between a step's two halves left (contract §12): owed destination effects, then cap holds nobody settled.
      await deps.destinationEffects.replayOwed(OWED_EFFECT_AFTER_MS, 200);
      const released = await deps.capHolds.sweep([...deps.destinations.keys()], 200);
      if (released > 0) deps.logger.info({ released }, 'cap slots given back that a crash had left held');
      await deps.sweeps.trimUnsoldIndex(deps.config.retentionMs);
      await refreshGauges(deps, routeQueue);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'housekeeping round failed');
    } finally {
      running = false;
      completed += 1;
      for (const waiter of waiting.filter((w) => w.until <= completed)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const timer = setInterval(() => void round(), everyMs);
  timer.unref();
  void round();
  return {
    stop: () => clearInterval(timer),
    // A round under way when this is called does not count: it may have started before the change awaited.
    afterRounds: (count) => new Promise((resolve) => waiting.push({ until: completed + count + (running ? 1 : 0), resolve })),
  };
}

async function refreshGauges(deps: WorkerDeps, routeQueue: Queue<RouteJobData>): Promise<void> {
  const now = deps.now();
  for (const destination of deps.destinations.values()) {
    deps.metrics.circuitOpen.set({ destination: destination.id }, (await deps.destinationState.circuitIsOpen(destination.id)) ? 1 : 0);
    if (destination.caps) {
      const used = await deps.destinationState.capUsed(destination.id, capPeriods(destination, now));
      for (const period of ['hourly', 'daily', 'total'] as const) {
        if (destination.caps[period] !== undefined) deps.metrics.capUsed.set({ destination: destination.id, period }, used[period]);
      }
    }
  }
  const learnt = await deps.destinationState.learned([...deps.destinations.keys()], '-');
  for (const destination of deps.destinations.values()) {
    deps.metrics.expectedRevenue.set({ destination: destination.id }, expectedRevenue(destination.payout, learnt.get(destination.id) ?? NO_EVIDENCE));
  }
  const memory = await deps.sweeps.redisMemory();
  deps.metrics.redisMemoryUsed.set(memory.used);
  deps.metrics.redisMaxMemory.set(memory.max);
  for (const queue of [routeQueue, ...deps.deliverQueues.values(), ...deps.notifier.allQueues()]) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    deps.metrics.queueJobs.set({ queue: queue.name, state: 'waiting' }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
    for (const state of ['active', 'delayed', 'failed'] as const) deps.metrics.queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
  }
}
