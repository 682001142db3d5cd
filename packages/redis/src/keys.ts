import { ledgerBucket } from './ledger-stream.js';

/**
 * Every Redis key LeadRouter writes, in one place. All of them start with LEADROUTER_PREFIX so
 * several installs can share one Redis. PII never appears in a key name: dedupe and idempotency
 * keys hold SHA-256 digests.
 */
export interface RedisKeys {
  prefix: string;
  /** Whether this install runs a ledger: changes and rejections go to its streams. */
  ledgerOn: boolean;
  /** The lead's state: a small hash (status, plan, decisions...) that Redis keeps compact (listpack). */
  lead(id: string): string;
  /** The lead's fields as sent (JSON): apart, so the state hash stays small and compact. */
  leadData(id: string): string;
  leadEvents(id: string): string;
  /** Postback event ids (`event_id`, `webhook-id`) already applied to the lead. */
  leadPostbackIds(id: string): string;
  dedupe(scope: string, digest: string): string;
  idempotency(supplier: string, digest: string): string;
  /** Leads stored but not yet picked up by a worker: the intake's outbox (see README, "No lost leads"). */
  pending(): string;
  /** Unsold leads by arrival time: what the admin's bulk redelivery picks from. */
  unsold(): string;
  /**
   * Supplier notifications owed for applied postbacks, not yet known to be queued: the postback
   * service's outbox, swept by the workers (see README, "Notifying suppliers").
   */
  notifyOutbox(): string;
  rateLimitPrefix(): string;
  /** Pub/sub channel on which workers announce leads that reached `delivered` or `unsold`. */
  finalChannel(): string;
  /** Sold-lead counter of a destination for one cap period (`h:2026-11-25T14`, `d:2026-11-25`, `t`). */
  cap(destination: string, period: string): string;
  circuit(destination: string): string;
  /** best_revenue's learnt acceptance of a destination (Beta counts, overall and per geo). */
  learned(destination: string): string;
  /** A destination's sold and rejected counts of one local day (admin view). */
  destinationDay(destination: string, day: string): string;
  circuitProbe(destination: string): string;
  /** round_robin counter of a route, shared by every worker process. */
  rotation(route: string): string;
  /** The ledger's change stream of one lead bucket (ledger-stream.ts). */
  ledgerStream(bucket: number): string;
  /**
   * The change stream a lead's steps append to, or '' when this install runs no ledger (the Lua
   * steps then append nothing, so Redis does not fill with changes no writer reads).
   */
  ledgerStreamOf(leadId: string): string;
  /** Intake rejections, for the ledger's reports (a stream of its own, trimmed: they are statistics, not leads). */
  ledgerRejections(): string;
  /** Changes the ledger could not store (PostgreSQL refused them for their data): set aside whole, for an operator. */
  ledgerDead(): string;
  /** Final leads the ledger holds, by when Redis may compact them (`leadId:seq:status`). */
  compactionDue(): string;
  /** Operators' changes (pauses, cap overrides, reloads), for the ledger's audit_events: a stream apart, trimmed; written only when `ledgerOn`. */
  ledgerAudit(): string;
  /** The operators' live overrides of destinations (contract §11): field = destination id, value = JSON. */
  destinationOverrides(): string;
  /** Pub/sub channel of live operations: `overrides` (read them again) and `reload` (read the config file again). */
  controlChannel(): string;
  /** A console session, by the SHA-256 of its cookie (the cookie itself is never stored). */
  consoleSession(digest: string): string;
  /** Every destination that has had a delivery queue (a set): workers drain those a reload removed. */
  destinationQueues(): string;
  /** The install's reload generation (a counter): raised by each POST /v1/admin/config/reload. */
  reloadGeneration(): string;
  /** A supplier ping's auction (contract §9), held for the route's bidTtlMs until its lead uses it. */
  supplierPing(id: string): string;
}

export interface RedisKeysOptions {
  /** Whether the install runs a ledger (DATABASE_URL, or the all-in-one's embedded one). */
  ledger?: boolean;
}

export function redisKeys(prefix: string, options: RedisKeysOptions = {}): RedisKeys {
  const ledgerStream = (bucket: number): string => `${prefix}:ledger:${bucket}`;
  return {
    prefix,
    ledgerOn: options.ledger === true,
    lead: (id) => `${prefix}:lead:${id}`,
    leadData: (id) => `${prefix}:lead:${id}:data`,
    leadEvents: (id) => `${prefix}:lead:${id}:events`,
    leadPostbackIds: (id) => `${prefix}:lead:${id}:pbids`,
    dedupe: (scope, digest) => `${prefix}:dedupe:${scope}:${digest}`,
    idempotency: (supplier, digest) => `${prefix}:idem:${supplier}:${digest}`,
    pending: () => `${prefix}:pending`,
    unsold: () => `${prefix}:unsold`,
    notifyOutbox: () => `${prefix}:notify-outbox`,
    rateLimitPrefix: () => `${prefix}:rl`,
    finalChannel: () => `${prefix}:lead-final`,
    cap: (destination, period) => `${prefix}:cap:${destination}:${period}`,
    circuit: (destination) => `${prefix}:circuit:${destination}`,
    learned: (destination) => `${prefix}:learn:${destination}`,
    destinationDay: (destination, day) => `${prefix}:day:${destination}:${day}`,
    circuitProbe: (destination) => `${prefix}:circuit:${destination}:probe`,
    rotation: (route) => `${prefix}:rr:${route}`,
    ledgerStream,
    ledgerStreamOf: (leadId) => (options.ledger ? ledgerStream(ledgerBucket(leadId)) : ''),
    ledgerRejections: () => `${prefix}:ledger:rejections`,
    ledgerDead: () => `${prefix}:ledger:dead`,
    compactionDue: () => `${prefix}:ledger:compact-due`,
    ledgerAudit: () => `${prefix}:ledger:audit`,
    destinationOverrides: () => `${prefix}:destination-overrides`,
    controlChannel: () => `${prefix}:control`,
    consoleSession: (digest) => `${prefix}:console-session:${digest}`,
    destinationQueues: () => `${prefix}:destination-queues`,
    reloadGeneration: () => `${prefix}:config-reloads`,
    supplierPing: (id) => `${prefix}:ping:${id}`,
  };
}
