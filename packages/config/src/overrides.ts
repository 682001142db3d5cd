import { createHash } from 'node:crypto';
import type { ResolvedConfig, ResolvedDestination } from './resolve.js';

export type CapPeriod = 'hourly' | 'daily' | 'total';
export const CAP_PERIODS: readonly CapPeriod[] = ['hourly', 'daily', 'total'];

/**
 * An operator's live change of one destination (contract §11), kept in Redis apart from the file:
 * paused, and caps that replace the file's, period by period (`null`: no cap in that period).
 */
export interface DestinationOverride {
  paused?: boolean;
  caps?: Partial<Record<CapPeriod, number | null>>;
}

export type DestinationOverrides = ReadonlyMap<string, DestinationOverride>;

/** The destination as it runs: the file's, paused when the operator paused it, with the operator's caps. */
function applyOverride(destination: ResolvedDestination, override: DestinationOverride | undefined): ResolvedDestination {
  if (!override) return destination;
  const caps: Partial<Record<CapPeriod, number>> = { ...destination.caps };
  for (const period of CAP_PERIODS) {
    const value = override.caps?.[period];
    if (value === null) delete caps[period];
    else if (value !== undefined) caps[period] = value;
  }
  return {
    ...destination,
    enabled: destination.enabled && override.paused !== true,
    ...(Object.keys(caps).length > 0 || destination.caps ? { caps } : {}),
  };
}

/**
 * The config every role runs on: the file's, with the live overrides applied. Pure, so each
 * process computes the same from the same file and the same Redis hash. An override of a
 * destination the file does not have is kept (it applies again if the destination comes back).
 */
export function applyOverrides(config: ResolvedConfig, overrides: DestinationOverrides): ResolvedConfig {
  if (overrides.size === 0) return config;
  return { ...config, destinations: config.destinations.map((d) => applyOverride(d, overrides.get(d.id))) };
}

/** `leadrouter_config_info{hash}`: the first 12 hex digits of the SHA-256 of the config file's text (`sha256sum` shows the same). */
export function configHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12);
}
