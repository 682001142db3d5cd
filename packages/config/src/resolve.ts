import { createHash } from 'node:crypto';
import { parseDurationMs } from './duration.js';
import { DEFAULT_POSTBACK_ON } from '@leadrouter/lead';
import type { DestinationConfig, LeadRouterConfig, RouteConfig, SupplierConfig } from './schema.js';

export interface ResolvedSupplier extends SupplierConfig {
  /** SHA-256 digests of every API key (plain keys are hashed at load; `sha256:` keys are given). */
  keyDigests: Buffer[];
  postbackOn: NonNullable<SupplierConfig['postbackOn']>;
}

/**
 * Defaults of contract §4 and of the parts the contract leaves to us (README, "Routing and
 * delivery"), applied once here: nothing downstream applies a default of its own.
 */
export const DESTINATION_DEFAULTS = {
  method: 'POST',
  format: 'json',
  timeoutMs: 10_000,
  retry: { attempts: 2, backoffMs: 1_000 },
  concurrency: 10,
  /** Consecutive errors (across all workers) that open the circuit, and how long it stays open before one probe. */
  circuit: { failures: 5, cooldownMs: 30_000 },
  payout: 0,
  enabled: true,
  /** The zone of schedules and cap periods without one. */
  timezone: 'UTC',
} as const;

type Schedule = NonNullable<DestinationConfig['schedule']>;

/** A destination with every default applied. */
export interface ResolvedDestination extends Omit<DestinationConfig, 'ping'> {
  /** A bidder's ping (contract §9); none: the destination is posted to directly. */
  ping?: ResolvedPing;
  method: NonNullable<DestinationConfig['method']>;
  format: NonNullable<DestinationConfig['format']>;
  headers: Record<string, string>;
  timeoutMs: number;
  retry: { attempts: number; backoffMs: number };
  concurrency: number;
  circuit: { failures: number; cooldownMs: number };
  payout: number;
  enabled: boolean;
  schedule?: Schedule & { timezone: string };
  /** The zone its cap periods follow: its schedule's, else UTC. */
  timezone: string;
}

/** A bidder's ping with every default applied (contract §9). */
export interface ResolvedPing {
  url: string;
  method: 'POST' | 'PUT' | 'GET';
  format: 'json' | 'form';
  headers: Record<string, string>;
  body?: Record<string, string>;
  timeoutMs: number;
  omit: string[];
  response: NonNullable<DestinationConfig['ping']>['response'];
}

/** A route's auction with every default applied (contract §9). */
export interface ResolvedAuction {
  floor: number;
  deadlineMs: number;
  rank: 'bid' | 'expected';
  mode: 'exclusive' | 'shared';
  /** Sales of one lead at most: 1 for `exclusive`, `maxSales` for `shared`. */
  maxSales: number;
  bidTtlMs: number;
}

/** A route with every default applied. */
export interface ResolvedRoute extends Omit<RouteConfig, 'auction'> {
  strategy: NonNullable<RouteConfig['strategy']>;
  fallback: string[];
  /** Only on a route with `strategy: auction`. */
  auction?: ResolvedAuction;
}

/** A validated config with every default applied: what the processes actually run on. */
export interface ResolvedConfig {
  dedupe: { windowMs: number; scope: 'supplier' | 'global'; by: string[] };
  /** `leads.retentionDays` in milliseconds: how long a lead's records live. */
  retentionMs: number;
  learning: { memory: number; geoPrior: number; priceMemory: number };
  /** `ledger.retentionDays` (730) and `ledger.piiDays` (365): how long the ledger keeps a lead, and its contact data. */
  ledger: { retentionDays: number; piiDays: number };
  /** `reports.timezone` (UTC): the zone of the reports' days and hours. */
  reportsTimezone: string;
  suppliers: ResolvedSupplier[];
  destinations: ResolvedDestination[];
  routes: ResolvedRoute[];
  /**
   * Sources named in some route's match, by their lower-cased form, with the spelling the config
   * gives them: the only values the `source` label takes (anything else is `other`).
   */
  routedSources: ReadonlyMap<string, string>;
}

export const DEFAULT_DEDUPE = { window: '30d', scope: 'supplier', by: ['phone'] } as const;
export const DEFAULT_RETENTION_DAYS = 30;
export const DEFAULT_LEARNING = { memory: 500, geoPrior: 5, priceMemory: 10 } as const;
export const DEFAULT_LEDGER = { retentionDays: 730, piiDays: 365 } as const;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function keyDigest(key: string): Buffer {
  return key.startsWith('sha256:') ? Buffer.from(key.slice(7).toLowerCase(), 'hex') : Buffer.from(sha256Hex(key), 'hex');
}

export function resolveConfig(config: LeadRouterConfig): ResolvedConfig {
  const dedupe = config.dedupe ?? {};
  return {
    dedupe: {
      windowMs: parseDurationMs(dedupe.window ?? DEFAULT_DEDUPE.window),
      scope: dedupe.scope ?? DEFAULT_DEDUPE.scope,
      by: [...(dedupe.by ?? DEFAULT_DEDUPE.by)],
    },
    retentionMs: Math.round((config.leads?.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400_000),
    learning: {
      memory: config.learning?.memory ?? DEFAULT_LEARNING.memory,
      geoPrior: config.learning?.geoPrior ?? DEFAULT_LEARNING.geoPrior,
      priceMemory: config.learning?.priceMemory ?? DEFAULT_LEARNING.priceMemory,
    },
    ledger: { retentionDays: config.ledger?.retentionDays ?? DEFAULT_LEDGER.retentionDays, piiDays: config.ledger?.piiDays ?? DEFAULT_LEDGER.piiDays },
    reportsTimezone: config.reports?.timezone ?? 'UTC',
    suppliers: config.suppliers.map((s) => ({ ...s, keyDigests: s.apiKeys.map(keyDigest), postbackOn: s.postbackOn ?? [...DEFAULT_POSTBACK_ON] })),
    destinations: config.destinations.map(resolveDestination),
    routes: config.routes.map(resolveRoute),
    routedSources: new Map(
      config.routes
        .flatMap((r) => r.match?.source ?? [])
        .reverse()
        .map((s) => [s.toLowerCase(), s] as const),
    ),
  };
}

export function resolveDestination(d: DestinationConfig): ResolvedDestination {
  const D = DESTINATION_DEFAULTS;
  const timezone = d.schedule?.timezone ?? D.timezone;
  const { schedule, ping, ...rest } = d;
  return {
    ...rest,
    ...(ping
      ? {
          ping: {
            url: ping.url,
            // A ping's request defaults are a post's (contract §9: "method (default POST)").
            method: ping.method ?? D.method,
            format: ping.format ?? D.format,
            headers: ping.headers ?? {},
            ...(ping.body ? { body: ping.body } : {}),
            timeoutMs: ping.timeoutMs ?? 1000,
            omit: [...(ping.omit ?? [])],
            response: ping.response,
          },
        }
      : {}),
    method: d.method ?? D.method,
    format: d.format ?? D.format,
    headers: d.headers ?? {},
    timeoutMs: d.timeoutMs ?? D.timeoutMs,
    retry: { attempts: d.retry?.attempts ?? D.retry.attempts, backoffMs: d.retry?.backoffMs ?? D.retry.backoffMs },
    concurrency: d.concurrency ?? D.concurrency,
    circuit: { failures: d.circuit?.failures ?? D.circuit.failures, cooldownMs: d.circuit?.cooldownMs ?? D.circuit.cooldownMs },
    payout: d.payout ?? D.payout,
    enabled: d.enabled ?? D.enabled,
    ...(schedule ? { schedule: { ...schedule, timezone } } : {}),
    timezone,
  };
}

export function resolveRoute(r: RouteConfig): ResolvedRoute {
  const { auction, ...rest } = r;
  const strategy = r.strategy ?? 'priority';
  return {
    ...rest,
    strategy,
    fallback: r.fallback ?? [],
    ...(strategy === 'auction'
      ? { auction: { floor: auction?.floor ?? 0, deadlineMs: auction?.deadlineMs ?? 1000, rank: auction?.rank ?? 'bid', mode: auction?.mode ?? 'exclusive', maxSales: auction?.mode === 'shared' ? (auction.maxSales ?? 2) : 1, bidTtlMs: auction?.bidTtlMs ?? 60000 } }
      : {}),
  };
}
