import { readFileSync } from 'node:fs';

/**
 * How long and how many connections the HTTP servers hold, set for a public API: the intake and
 * postback ports face anyone on the internet, and a client that opens sockets and sends nothing,
 * or trickles its headers or body, must not hold the process (README, "Limits").
 */
export interface HttpLimits {
  /** The whole request head must arrive within this; a connection that sends nothing is closed too. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections one server holds at once; further ones are closed at once. */
  maxConnections: number;
}

export const HTTP_TIMEOUTS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 } as const;

/** Servers one process may run (the all-in-one runs intake, postback and worker ports). */
const SERVERS_PER_PROCESS = 3;
/** File descriptors kept for everything else: Redis connections, outgoing deliveries, logs. */
const RESERVED_FDS = 512;
const FALLBACK_MAX_CONNECTIONS = 4096;

/**
 * A connection cap per server that the process's open-file limit can always honour, so a flood on
 * one port cannot use up the descriptors that the other ports, Redis and the deliveries need.
 */
export function defaultMaxConnections(limitsFile = '/proc/self/limits'): number {
  let soft: number | undefined;
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const value = line?.split(/\s{2,}/)[1];
    soft = value === undefined || value === 'unlimited' ? undefined : Number(value);
  } catch {
    soft = undefined;
  }
  if (soft === undefined || !Number.isFinite(soft)) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(64, Math.min(FALLBACK_MAX_CONNECTIONS * 4, Math.floor((soft - RESERVED_FDS) / SERVERS_PER_PROCESS)));
}
