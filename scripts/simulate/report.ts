/**
 * The simulator's figures: per strategy and per bucket of leads, revenue, acceptance, regret
 * against the oracle and each buyer's share of first offers; the target checks; and the
 * CSV, JSON and SVG chart written from them.
 */
import type { LeadDraw, Market, MarketChange } from './market.js';
import type { LeadOutcome } from './oracle.js';

export interface Bucket {
  /** Leads [from, to). */
  from: number;
  to: number;
  revenue: number;
  cumulativeRevenue: number;
  acceptance: number;
  /** Oracle's cumulative revenue minus this one's, at the bucket's end. */
  regret: number;
  /** Share of the bucket's leads first offered to each buyer. */
  firstOfferShare: Record<string, number>;
}

export interface StrategyResult {
  name: string;
  revenue: number;
  acceptance: number;
  buckets: Bucket[];
  outcomes: LeadOutcome[];
}

export function summarise(name: string, outcomes: LeadOutcome[], oracle: LeadOutcome[], market: Market, bucketSize: number): StrategyResult {
  const buckets: Bucket[] = [];
  let cumulative = 0;
  let oracleCumulative = 0;
  for (let from = 0; from < outcomes.length; from += bucketSize) {
    const to = Math.min(outcomes.length, from + bucketSize);
    const slice = outcomes.slice(from, to);
    const revenue = sum(slice.map((o) => o.revenue));
    cumulative += revenue;
    oracleCumulative += sum(oracle.slice(from, to).map((o) => o.revenue));
    buckets.push({
      from,
      to,
      revenue,
      cumulativeRevenue: cumulative,
      acceptance: slice.filter((o) => o.soldTo !== undefined).length / slice.length,
      regret: oracleCumulative - cumulative,
      firstOfferShare: Object.fromEntries(market.buyers.map((b) => [b.id, slice.filter((o) => o.firstOffer === b.id).length / slice.length])),
    });
  }
  return { name, revenue: cumulative, acceptance: outcomes.filter((o) => o.soldTo !== undefined).length / outcomes.length, buckets, outcomes };
}

/** The changed buyer's share of first offers (of the change's geo when it has one) in [from, to). */
export function firstOfferShare(outcomes: LeadOutcome[], draws: LeadDraw[], change: MarketChange, from: number, to: number): number {
  let offers = 0;
  let leads = 0;
  for (let n = Math.max(0, from); n < Math.min(to, outcomes.length); n++) {
    if (change.geo !== undefined && draws[n]?.geo !== change.geo) continue;
    leads += 1;
    if (outcomes[n]?.firstOffer === change.buyer) offers += 1;
  }
  return leads === 0 ? 0 : offers / leads;
}

export interface ChangeCheck {
  change: MarketChange;
  before: number;
  after: number;
  ok: boolean;
}

/** Leads on each side of a market change over which its check compares the changed buyer's share. */
export const CHANGE_WINDOW = 1000;

/** For each change: the share in the 1,000 leads before it and the 1,000 after; it must move the expected way. */
export function checkChanges(result: StrategyResult, draws: LeadDraw[], market: Market, window = CHANGE_WINDOW): ChangeCheck[] {
  return market.changes.map((change) => {
    const before = firstOfferShare(result.outcomes, draws, change, change.at - window, change.at);
    const after = firstOfferShare(result.outcomes, draws, change, change.at, change.at + window);
    return { change, before, after, ok: change.expect === 'down' ? after < before : after > before };
  });
}

/**
 * Whether every change's windows lie inside the run and clear of the other changes. The changes sit
 * at fixed fractions of the run, so in a short run the "before" window of one change holds the
 * previous change too (steady going down and coming back are 12.5 % of the run apart): a share that
 * moves then says nothing about the change, either way, and its check is not a check.
 */
export function changeWindowsFit(market: Market, leads: number, window = CHANGE_WINDOW): boolean {
  return market.changes.every(
    (change) =>
      change.at - window >= 0 &&
      change.at + window <= leads &&
      market.changes.every((other) => other === change || other.at <= change.at - window || other.at >= change.at + window),
  );
}

export function toCsv(results: StrategyResult[], market: Market): string {
  const buyers = market.buyers.map((b) => b.id);
  const header = ['strategy', 'from', 'to', 'revenue', 'cumulative_revenue', 'acceptance', 'regret', ...buyers.map((b) => `first_offer_share_${b}`)];
  const rows = results.flatMap((r) =>
    r.buckets.map((b) => [r.name, b.from, b.to, b.revenue.toFixed(2), b.cumulativeRevenue.toFixed(2), b.acceptance.toFixed(4), b.regret.toFixed(2), ...buyers.map((id) => (b.firstOfferShare[id] ?? 0).toFixed(4))].join(',')),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}

const COLOURS: Record<string, string> = { oracle: '#555555', best_revenue: '#d62728', weighted: '#1f77b4', priority: '#2ca02c' };

/**
 * Two panels over the lead stream: cumulative net revenue per strategy (top), and revenue per lead
 * in each bucket (bottom), with the market's changes marked.
 */
export function toSvg(results: StrategyResult[], market: Market, title: string): string {
  const width = 960;
  const panel = { left: 80, right: 210, top: 50, height: 260, gap: 70 };
  const plotWidth = width - panel.left - panel.right;
  const height = panel.top + 2 * panel.height + panel.gap + 60;
  const leads = Math.max(...results.map((r) => r.buckets.at(-1)?.to ?? 0));
  const x = (n: number): number => panel.left + (n / leads) * plotWidth;
  const parts: string[] = [];
  const text = (tx: number, ty: number, s: string, extra = ''): void => {
    parts.push(`<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" ${extra}>${escape(s)}</text>`);
  };

  const drawPanel = (top: number, label: string, value: (b: Bucket) => number, format: (v: number) => string, cumulative: boolean): void => {
    const highest = Math.max(...results.flatMap((r) => r.buckets.map(value)));
    const step = niceStep(highest / 5);
    const max = step * Math.max(1, Math.ceil(highest / step));
    const y = (v: number): number => top + panel.height - (v / max) * panel.height;
    parts.push(`<rect x="${panel.left}" y="${top}" width="${plotWidth}" height="${panel.height}" fill="none" stroke="#bbb"/>`);
    for (let i = 0; i * step <= max; i++) {
      const v = i * step;
      parts.push(`<line x1="${panel.left}" x2="${panel.left + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
      text(panel.left - 8, y(v) + 4, format(v), 'text-anchor="end" font-size="11"');
    }
    text(panel.left, top - 10, label, 'font-size="13" font-weight="bold"');
    for (const change of market.changes) {
      parts.push(`<line x1="${x(change.at)}" x2="${x(change.at)}" y1="${top}" y2="${top + panel.height}" stroke="#999" stroke-dasharray="4 3"/>`);
    }
    for (const r of results) {
      // A running total starts at the origin and is read at each bucket's end; a per-bucket figure sits at the bucket's middle.
      const points = cumulative
        ? [`${x(0)},${y(0)}`, ...r.buckets.map((b) => `${x(b.to).toFixed(1)},${y(value(b)).toFixed(1)}`)]
        : r.buckets.map((b) => `${x((b.from + b.to) / 2).toFixed(1)},${y(value(b)).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${COLOURS[r.name] ?? '#000'}" stroke-width="2" points="${points.join(' ')}"/>`);
    }
  };

  text(width / 2, 24, title, 'text-anchor="middle" font-size="15" font-weight="bold"');
  drawPanel(panel.top, 'Cumulative net revenue', (b) => b.cumulativeRevenue, (v) => (v >= 1000 ? `${Math.round(v / 1000)}k` : String(Math.round(v))), true);
  const secondTop = panel.top + panel.height + panel.gap;
  drawPanel(secondTop, 'Net revenue per lead, by bucket', (b) => b.revenue / (b.to - b.from), (v) => v.toFixed(1), false);
  for (let i = 0; i <= 4; i++) {
    const n = Math.round((leads * i) / 4);
    text(x(n), secondTop + panel.height + 18, n.toLocaleString('en-US'), 'text-anchor="middle" font-size="11"');
  }
  text(panel.left + plotWidth / 2, secondTop + panel.height + 40, 'leads (in the order posted)', 'text-anchor="middle" font-size="12"');
  market.changes.forEach((change, i) => {
    text(x(change.at) + 3, panel.top + 14 + i * 13, `${String.fromCharCode(65 + i)}`, 'font-size="11" fill="#666"');
    text(panel.left + plotWidth + 15, panel.top + 150 + i * 28, `${String.fromCharCode(65 + i)}: ${change.what.replace(/ \(.*\)$/, '')}`, 'font-size="10" fill="#444"');
  });
  results.forEach((r, i) => {
    const ly = panel.top + 10 + i * 22;
    parts.push(`<line x1="${panel.left + plotWidth + 15}" x2="${panel.left + plotWidth + 40}" y1="${ly}" y2="${ly}" stroke="${COLOURS[r.name] ?? '#000'}" stroke-width="3"/>`);
    text(panel.left + plotWidth + 46, ly + 4, r.name, 'font-size="12"');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

/** The smallest of 1, 2, 5 × a power of ten that is at least `value`: a readable axis step. */
function niceStep(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
