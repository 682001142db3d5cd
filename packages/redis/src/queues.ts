/**
 * The queue catalog. DO NOT RENAME these values on a running install: jobs already in Redis live
 * under the old names and would be stranded. Names may not contain ':' (BullMQ).
 */
export const QUEUES = {
  /** One job per accepted lead, id = lead id, data = { leadId }: the worker routes and delivers it. */
  route: 'route',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface RouteJobData {
  leadId: string;
}

/** Job options shared by every producer of route jobs (intake, outbox sweeper, admin replay). */
export const ROUTE_JOB_OPTIONS = {
  // Routing failures are handled inside the job (fallback, unsold); BullMQ retries only cover crashes.
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
