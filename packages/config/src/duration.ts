/** Durations in config (`30d`, `12h`, `15m`, `10s`, `250ms`, `0`) as milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDurationMs(value: string | number): number {
  if (value === 0 || value === '0') return 0;
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(String(value));
  if (!match) throw new Error(`not a duration: "${String(value)}" (use e.g. 30d, 12h, 15m, 0)`);
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}
