import { CAP_PERIODS, type CapPeriod, type DestinationOverride } from '@leadrouter/config';
import type { RedisClient, RedisKeys } from '@leadrouter/redis';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

/** About this many operator changes wait in Redis for the ledger: audit entries are small, and a ledger down for days must not fill Redis. */
export const AUDIT_MAX_BACKLOG = 100_000;

export type OverrideChange =
  | { action: 'destination.pause' }
  | { action: 'destination.resume' }
  | { action: 'destination.caps'; caps: Partial<Record<CapPeriod, number | null>> }
  | { action: 'destination.caps.clear' };

/**
 * The operators' live overrides of destinations (contract §11), in one Redis hash that every
 * process reads at start and again when told on the control channel: so they are in force
 * everywhere within a second and survive restarts. Each change is one Lua step
 * (lua/set-override-2.lua) that also records its audit entry and announces it.
 */
export class DestinationOverridesStore {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.setOverride]);
  }

  /** Every override, by destination id; an entry that is not valid JSON is ignored (and stays for an operator to see). */
  async all(): Promise<Map<string, DestinationOverride>> {
    const raw = await this.redis.hgetall(this.keys.destinationOverrides());
    const overrides = new Map<string, DestinationOverride>();
    for (const [id, text] of Object.entries(raw)) {
      const parsed = parseOverride(text);
      if (parsed) overrides.set(id, parsed);
    }
    return overrides;
  }

  async change(destination: string, change: OverrideChange, at: Date = new Date()): Promise<DestinationOverride> {
    const args = {
      destination,
      action: change.action,
      at: at.toISOString(),
      channel: this.keys.controlChannel(),
      auditMax: AUDIT_MAX_BACKLOG,
      ledgerOn: this.keys.ledgerOn,
      ...(change.action === 'destination.pause' ? { paused: true } : {}),
      ...(change.action === 'destination.resume' ? { paused: false } : {}),
      ...(change.action === 'destination.caps' ? { caps: change.caps } : {}),
      ...(change.action === 'destination.caps.clear' ? { caps: false } : {}),
    };
    const encoded = await this.scripts.run<string>(SCRIPTS.setOverride, [this.keys.destinationOverrides(), this.keys.ledgerAudit()], args);
    return parseOverride(encoded) ?? {};
  }
}

function parseOverride(text: string): DestinationOverride | undefined {
  try {
    const value = JSON.parse(text) as { paused?: unknown; caps?: unknown };
    const override: DestinationOverride = {};
    if (value.paused === true) override.paused = true;
    if (value.caps && typeof value.caps === 'object') {
      const caps: Partial<Record<CapPeriod, number | null>> = {};
      for (const period of CAP_PERIODS) {
        const limit = (value.caps as Record<string, unknown>)[period];
        if (limit === null || (typeof limit === 'number' && Number.isInteger(limit) && limit >= 0)) caps[period] = limit;
      }
      override.caps = caps;
    }
    return override;
  } catch {
    return undefined;
  }
}
