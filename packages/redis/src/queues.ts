/**
 * The queue catalog. DO NOT RENAME these values on a running install: jobs already in Redis live
 * under the old names and would be stranded. Names may not contain ':' (BullMQ).
 */
/**
 * A queue's BullMQ prefix: the install's prefix with the queue's own hash tag, so that each queue's
 * keys share a slot of a Redis Cluster and different queues spread over its shards (contract §12).
 * Keys come out as `<prefix>:{q:<queue>}:<queue>:<suffix>`.
 */
export function queuePrefix(prefix: string, queue: string): string {
  return `${prefix}:{q:${queue}}`;
}

export const QUEUES = {
  /** One job per accepted lead, id = lead id, data = { leadId }: the worker routes and delivers it. */
  route: 'route',
} as const;

/**
 * The route job of a lead: the lead id itself, then `<id>.r<round>` for each admin redelivery, so a
 * redelivered lead gets a fresh job while a repeated add of the same round is ignored.
 */
export function routeJobId(leadId: string, round: number): string {
  return round > 0 ? `${leadId}.r${round}` : leadId;
}

/** The routing round a route job was queued for (the inverse of routeJobId). */
export function routeJobRound(jobId: string | undefined): number {
  return Number(/\.r(\d+)$/.exec(jobId ?? '')?.[1] ?? 0);
}

/**
 * The key of a supplier notification within its lead (the notify job's id is `<lead>.<key>`): the
 * same event makes the same key, so queueing it twice (a re-run after a crash, a repeated postback)
 * sends it once.
 */
export const notificationKey = {
  /** The sale of a routing round; each sale of a shared lead (contract §9) is its own. */
  delivered: (round: number, sharedSaleTo?: string): string => (sharedSaleTo === undefined ? `delivered.${round}` : `delivered.${round}.${sharedSaleTo}`),
  /** The unsold end of a routing round. */
  unsold: (round: number): string => `unsold.${round}`,
  /** A postback's status change: by its event id, else by when it arrived. */
  postback: (status: string, eventId: string | undefined, receivedAt: string, destination: string): string => `pb.${destination}.${status}.${eventId ?? receivedAt}`,
} as const;

/** A delivery job's id: lead, routing round, candidate index, try. */
export function deliverJobId(leadId: string, round: number, index: number, attempt: number): string {
  return `${leadId}.${round}.${index}.${attempt}`;
}

/** The routing round a delivery job belongs to: from its data, or its id for jobs queued before the data carried it. */
export function deliverJobRound(job: { id?: string | undefined; data: DeliverJobData }): number {
  return job.data.round ?? Number(job.id?.split('.')[1] ?? 0);
}

/** One delivery queue per destination, so a slow destination only ever holds its own workers. */
export function deliverQueueName(destinationId: string): string {
  return `deliver-${destinationId}`;
}

export interface DeliverJobData {
  leadId: string;
  /** Index of the destination in the lead's candidate list (the plan). */
  index: number;
  /** 0 for the first try at this destination, then 1, 2, ... for retries. */
  attempt: number;
  /**
   * The lead's routing round (0, then one more per admin redelivery): a job left over from an
   * earlier round must not act on the new round's plan. Absent in jobs of older versions.
   */
  round?: number;
  /** How many times housekeeping gave this job a new set of attempts after it failed for good. */
  revived?: number;
}

/** Deliver jobs: BullMQ's own attempts only cover crashes and Redis faults inside the processor. */
export const DELIVER_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** A supplier ping's auction, as held for its lead: bidders' outcomes and the ranking. */
export interface PingedAuction {
  pingId: string;
  route: string;
  durationMs: number;
  bidders: Array<{ destination: string; outcome: string; bid?: number; durationMs: number; error?: string }>;
  ranking: Array<{ destination: string; bid: number; value: number; reference?: string }>;
}

export interface RouteJobData {
  leadId: string;
  /**
   * The auction a supplier's ping ran for this lead (POST /v1/pings, then the lead with its
   * `ping_id`; contract §9): its route and ranking, so the lead is posted to those bidders in that
   * order without pinging them again.
   */
  auction?: PingedAuction;
  /** How many times housekeeping gave this job a new set of attempts after it failed for good. */
  revived?: number;
}

/** Job options shared by every producer of route jobs (intake, outbox sweeper, admin replay). */
export const ROUTE_JOB_OPTIONS = {
  // Routing failures are handled inside the job (fallback, unsold); BullMQ retries only cover crashes.
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/**
 * Options for every Queue: BullMQ keeps a stream of job events per queue (10,000 by default).
 * LeadRouter reads none of them (lead history lives in the lead's own events), so a short stream
 * keeps Redis memory flat and small.
 */
export const QUEUE_OPTIONS = { streams: { events: { maxLen: 100 } } } as const;

/** One notification queue per supplier: a tracker that is down holds up no one else's. */
export function notifyQueueName(supplierId: string): string {
  return `notify-${supplierId}`;
}

export interface NotifyJobData {
  leadId: string;
  /** Our status that changed (`delivered`, `unsold`, `converted`, ...), before postbackStatusMap. */
  status: string;
  /** For a sale of a shared lead (contract §9): its buyer, whose payout the notification names. */
  sale?: string;
}
