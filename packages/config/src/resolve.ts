import { createHash } from 'node:crypto';
import { parseDurationMs } from './duration.js';
import type { DestinationConfig, LeadRouterConfig, RouteConfig, SupplierConfig } from './schema.js';

export interface ResolvedSupplier extends SupplierConfig {
  /** SHA-256 digests of every API key (plain keys are hashed at load; `sha256:` keys are given). */
  keyDigests: Buffer[];
}

/** A validated config with every default applied: what the processes actually run on. */
export interface ResolvedConfig {
  dedupe: { windowMs: number; scope: 'supplier' | 'global'; by: string[] };
  /** `leads.retentionDays` in milliseconds: how long a lead's records live. */
  retentionMs: number;
  learning: { memory: number; geoPrior: number; priceMemory: number };
  suppliers: ResolvedSupplier[];
  destinations: DestinationConfig[];
  routes: RouteConfig[];
  /**
   * Sources named in some route's match, by their lower-cased form, with the spelling the config
   * gives them: the only values the `source` label takes (anything else is `other`).
   */
  routedSources: ReadonlyMap<string, string>;
}

export const DEFAULT_DEDUPE = { window: '30d', scope: 'supplier', by: ['phone'] } as const;
export const DEFAULT_RETENTION_DAYS = 30;
export const DEFAULT_LEARNING = { memory: 500, geoPrior: 5, priceMemory: 10 } as const;

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
    suppliers: config.suppliers.map((s) => ({ ...s, keyDigests: s.apiKeys.map(keyDigest) })),
    destinations: config.destinations,
    routes: config.routes,
    routedSources: new Map(
      config.routes
        .flatMap((r) => r.match?.source ?? [])
        .reverse()
        .map((s) => [s.toLowerCase(), s] as const),
    ),
  };
}
