import { bucketTag, destinationTag, digestBucket, leadBucket } from './slots.js';

/**
 * Every Redis key LeadRouter writes, in one place. All of them start with LEADROUTER_PREFIX so
 * several installs can share one Redis. PII never appears in a key name: dedupe and idempotency
 * keys hold SHA-256 digests. Keys carry hash tags (slots.ts), so the keys a Lua step touches
 * together share a slot of a Redis Cluster.
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
  /** Leads stored but not yet picked up by a worker, per lead bucket: the intake's outbox (see README, "No lost leads"). */
  pending(bucket: number): string;
  /** Unsold leads by arrival time, per lead bucket: what the admin's bulk redelivery picks from. */
  unsold(bucket: number): string;
  /**
   * Supplier notifications owed for applied postbacks, not yet known to be queued: the postback
   * service's outbox, per lead bucket, swept by the workers (see README, "Notifying suppliers").
   */
  notifyOutbox(bucket: number): string;
  /**
   * Destination effects a lead's step owes (circuit, learning, day counts, a cap hold to settle),
   * per lead bucket: written in the lead's slot with the step, applied in the destination's slot
   * right after, and replayed by housekeeping when a crash came between (README, "Redis Cluster").
   */
  owedEffects(bucket: number): string;
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
  /** A destination's cap holds: field = lead id, value = `<token>|<periods>` (cap-reserve.lua). */
  capHolds(destination: string): string;
  /** The holds not yet known to be confirmed by their lead, by when they were taken: what the cap sweeper checks. */
  capUnconfirmed(destination: string): string;
  /** Owed effects a destination has applied (by effect id), so a replay applies nothing twice. */
  destinationReceipts(destination: string): string;
  /** round_robin counter of a route, shared by every worker process. */
  rotation(route: string): string;
  /** The ledger's change stream of one lead bucket (ledger-stream.ts). */
  ledgerStream(bucket: number): string;
  /**
   * The change stream a lead's steps append to (its bucket's). The steps append only when the
   * install runs a ledger (`ledgerOn`, given to them), so Redis does not fill with changes no
   * writer reads; the key is passed either way, since a cluster routes a step by its keys.
   */
  ledgerStreamOf(leadId: string): string;
  /** Intake rejections, for the ledger's reports (a stream of its own, trimmed: they are statistics, not leads). */
  ledgerRejections(): string;
  /** Changes the ledger could not store (PostgreSQL refused them for their data): set aside whole, for an operator. */
  ledgerDead(): string;
  /** Final leads the ledger holds, per lead bucket, by when Redis may compact them (`leadId:seq:status`). */
  compactionDue(bucket: number): string;
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
  const leadKey = (id: string): string => `${prefix}:lead:${bucketTag(leadBucket(id))}:${id}`;
  const perBucket = (name: string) => (bucket: number): string => `${prefix}:${name}:${bucketTag(bucket)}`;
  const ofDestination = (name: string, destination: string): string => `${prefix}:${name}:${destinationTag(destination)}`;
  const ledgerStream = perBucket('ledger');
  // Operators' live state: one tag, since set-override-2.lua writes the overrides and their audit entry together.
  const control = (name: string): string => `${prefix}:${name}:{ctl}`;
  return {
    prefix,
    ledgerOn: options.ledger === true,
    lead: leadKey,
    leadData: (id) => `${leadKey(id)}:data`,
    leadEvents: (id) => `${leadKey(id)}:events`,
    leadPostbackIds: (id) => `${leadKey(id)}:pbids`,
    dedupe: (scope, digest) => `${prefix}:dedupe:${bucketTag(digestBucket(digest))}:${scope}:${digest}`,
    idempotency: (supplier, digest) => `${prefix}:idem:${supplier}:${digest}`,
    pending: perBucket('pending'),
    unsold: perBucket('unsold'),
    notifyOutbox: perBucket('notify-outbox'),
    owedEffects: perBucket('owed'),
    rateLimitPrefix: () => `${prefix}:rl`,
    finalChannel: () => `${prefix}:lead-final`,
    cap: (destination, period) => `${ofDestination('cap', destination)}:${period}`,
    circuit: (destination) => ofDestination('circuit', destination),
    learned: (destination) => ofDestination('learn', destination),
    destinationDay: (destination, day) => `${ofDestination('day', destination)}:${day}`,
    circuitProbe: (destination) => `${ofDestination('circuit', destination)}:probe`,
    capHolds: (destination) => ofDestination('holds', destination),
    capUnconfirmed: (destination) => ofDestination('holds-unconfirmed', destination),
    destinationReceipts: (destination) => ofDestination('receipts', destination),
    rotation: (route) => `${prefix}:rr:${route}`,
    ledgerStream,
    ledgerStreamOf: (leadId) => ledgerStream(leadBucket(leadId)),
    ledgerRejections: () => `${prefix}:ledger:rejections`,
    ledgerDead: () => `${prefix}:ledger:dead`,
    compactionDue: perBucket('ledger-compact-due'),
    ledgerAudit: () => control('ledger-audit'),
    destinationOverrides: () => control('destination-overrides'),
    controlChannel: () => `${prefix}:control`,
    consoleSession: (digest) => `${prefix}:console-session:${digest}`,
    destinationQueues: () => `${prefix}:destination-queues`,
    reloadGeneration: () => control('config-reloads'),
    supplierPing: (id) => `${prefix}:ping:${id}`,
  };
}
