import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric of contract §7, created on a per-process registry (never the global one, so tests
 * can build several processes in one Node process). Names and labels are fixed: dashboards and
 * alerts are built on them.
 */
export function createMetrics(registry: Registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const r = { registers: [registry] };
  return {
    registry,
    leadsReceived: new Counter({ name: 'leadrouter_leads_received_total', help: 'Leads accepted at intake (202).', labelNames: ['supplier', 'geo', 'source'] as const, ...r }),
    leadsRejected: new Counter({ name: 'leadrouter_leads_rejected_total', help: 'Leads refused at intake, by reason.', labelNames: ['supplier', 'reason'] as const, ...r }),
    leadsSold: new Counter({ name: 'leadrouter_leads_sold_total', help: 'Leads a destination accepted.', labelNames: ['destination', 'supplier', 'route', 'source'] as const, ...r }),
    leadsUnsold: new Counter({ name: 'leadrouter_leads_unsold_total', help: 'Leads no destination took.', labelNames: ['reason', 'route'] as const, ...r }),
    deliveryAttempts: new Counter({ name: 'leadrouter_delivery_attempts_total', help: 'HTTP delivery attempts by outcome.', labelNames: ['destination', 'outcome'] as const, ...r }),
    deliveryDuration: new Histogram({ name: 'leadrouter_delivery_duration_seconds', help: 'Duration of one delivery attempt.', labelNames: ['destination'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ...r }),
    timeToSale: new Histogram({ name: 'leadrouter_lead_time_to_sale_seconds', help: 'From intake to a destination accepting the lead.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], ...r }),
    postbacks: new Counter({ name: 'leadrouter_postbacks_total', help: 'Postbacks received from destinations.', labelNames: ['destination', 'source', 'status', 'result'] as const, ...r }),
    revenue: new Counter({ name: 'leadrouter_revenue_total', help: 'Revenue booked, including upward corrections.', labelNames: ['destination', 'supplier'] as const, ...r }),
    revenueReturned: new Counter({ name: 'leadrouter_revenue_returned_total', help: 'Revenue taken back: returns and downward corrections.', labelNames: ['destination', 'supplier'] as const, ...r }),
    queueJobs: new Gauge({ name: 'leadrouter_queue_jobs', help: 'Jobs per queue and state.', labelNames: ['queue', 'state'] as const, ...r }),
    circuitOpen: new Gauge({ name: 'leadrouter_destination_circuit_open', help: '1 when the destination circuit is open.', labelNames: ['destination'] as const, ...r }),
    capUsed: new Gauge({ name: 'leadrouter_destination_cap_used', help: 'Sold leads counted against a cap in the current period.', labelNames: ['destination', 'period'] as const, ...r }),
    // Beyond the contract's table (alerts only, no dashboard panel): Redis memory as workers see it.
    redisMemoryUsed: new Gauge({ name: 'leadrouter_redis_memory_used_bytes', help: 'Redis used_memory, read by workers.', ...r }),
    redisMaxMemory: new Gauge({ name: 'leadrouter_redis_maxmemory_bytes', help: 'Redis maxmemory (0 = no limit).', ...r }),
    // Beyond the contract's table: best_revenue's current estimate of revenue per lead (payout × learnt acceptance).
    expectedRevenue: new Gauge({ name: 'leadrouter_destination_expected_revenue', help: 'Learnt revenue per lead (payout x acceptance), overall.', labelNames: ['destination'] as const, ...r }),
    // Contract §10: the ledger's change stream, how far behind PostgreSQL is and how it keeps up.
    ledgerLag: new Gauge({ name: 'leadrouter_ledger_lag_seconds', help: 'Age of the oldest lead change not yet applied to the ledger.', ...r }),
    ledgerWrites: new Counter({ name: 'leadrouter_ledger_writes_total', help: 'Lead changes applied to the ledger (applied), and batches that failed (error).', labelNames: ['result'] as const, ...r }),
    // Contract §9: ping-post auctions.
    pings: new Counter({ name: 'leadrouter_pings_total', help: 'Pings sent to bidders, by outcome (bid, no_bid, below_floor, timeout, error).', labelNames: ['destination', 'outcome'] as const, ...r }),
    pingDuration: new Histogram({ name: 'leadrouter_ping_duration_seconds', help: 'Duration of one ping.', labelNames: ['destination'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], ...r }),
    bidAmount: new Histogram({ name: 'leadrouter_bid_amount', help: 'Bids received (in the payout currency).', labelNames: ['destination'] as const, buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500], ...r }),
    auctionDuration: new Histogram({ name: 'leadrouter_auction_duration_seconds', help: 'The whole ping phase of one lead.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], ...r }),
    // Contract §11: which config the process runs (the hash of its file), 1 for that hash only.
    configInfo: new Gauge({ name: 'leadrouter_config_info', help: 'The config this process runs: 1 for the SHA-256 (first 12 hex digits) of its file.', labelNames: ['hash'] as const, ...r }),
    httpDuration: new Histogram({ name: 'leadrouter_http_request_duration_seconds', help: 'HTTP requests served.', labelNames: ['service', 'route', 'code'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ...r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Keeps the `source` label bounded: a source named in some route's match (compared without case,
 * labelled as the config spells it), else `other`.
 */
export function sourceLabel(source: string, routedSources: ReadonlyMap<string, string>): string {
  return routedSources.get(source.toLowerCase()) ?? 'other';
}
