import type { Queue } from 'bullmq';
import type { ResolvedConfig, ResolvedDestination } from '@leadrouter/config';
import type { Logger } from '@leadrouter/logging';
import type { Metrics } from '@leadrouter/metrics';
import type { Notifier } from '@leadrouter/notify';
import type { DeliverJobData } from '@leadrouter/redis';
import type { CapHolds, DestinationEffects, DestinationState, LeadLifecycle, NotificationOutbox, PingCircuits, Sweeps } from '@leadrouter/store';

/** Everything the route and deliver processors need; passed in, so tests can build their own. */
export interface WorkerDeps {
  config: ResolvedConfig;
  destinations: ReadonlyMap<string, ResolvedDestination>;
  /** The lead's steps after intake (plan, advance, tries, unsold), each one atomic Lua call. */
  lifecycle: LeadLifecycle;
  /** Circuits, caps and learnt figures of the destinations, as Redis holds them. */
  destinationState: DestinationState;
  /** Bidders' circuits as their pings (contract §9) move them. */
  pingCircuits: PingCircuits;
  /** Housekeeping's reads: the intake's outbox, the unsold index, Redis memory. */
  sweeps: Sweeps;
  /** Cap holds in the destinations' slots: housekeeping settles those a crash left (contract §12). */
  capHolds: CapHolds;
  /** Destination effects lead steps owe: housekeeping replays those a crash left. */
  destinationEffects: DestinationEffects;
  deliverQueues: ReadonlyMap<string, Queue<DeliverJobData>>;
  metrics: Metrics;
  notifier: Notifier;
  /** Supplier notifications of applied postbacks that the postback service may not have queued. */
  notificationOutbox: NotificationOutbox;
  logger: Logger;
  random: () => number;
  now: () => Date;
}
