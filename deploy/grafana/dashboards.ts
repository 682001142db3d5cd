/**
 * The Grafana dashboards, as code: `npm run dashboards` writes deploy/grafana/dashboards/*.json,
 * which Grafana provisions. A test checks that the JSON is up to date, that it names only the
 * metrics of contract §7, and evaluates every query against a real Prometheus.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Target {
  expr: string;
  legend?: string;
}
interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  kind?: 'timeseries' | 'stat';
  width?: number;
}
interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const DATASOURCE = { type: 'prometheus', uid: 'prometheus' };
const R = '$__rate_interval';

function build(uid: string, title: string, description: string, rows: RowSpec[], templating: unknown[] = []): unknown {
  const panels: unknown[] = [];
  let y = 0;
  let id = 1;
  for (const row of rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? 8;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: p.kind ?? 'timeseries',
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { x, y, w, h: 8 },
        fieldConfig: { defaults: { unit: p.unit, min: 0 }, overrides: [] },
        options: p.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'value' } : { legend: { displayMode: 'list', placement: 'bottom' } },
        targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: t.expr, legendFormat: t.legend ?? '__auto' })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid,
    title,
    description,
    tags: ['leadrouter'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: templating },
    annotations: { list: [] },
    panels,
  };
}

export const overview = build('leadrouter-overview', 'LeadRouter overview', 'Leads in, leads sold, money, failures and backlogs.', [
  {
    title: 'Intake',
    panels: [
      { title: 'Leads received by supplier', description: 'Accepted at intake (202) per second.', unit: 'reqps', targets: [{ expr: `sum by (supplier) (rate(leadrouter_leads_received_total[${R}]))`, legend: '{{supplier}}' }] },
      { title: 'Intake rejections by reason', description: 'Refused leads per second (invalid, duplicate, unauthorized, rate_limited, unavailable, ...).', unit: 'reqps', targets: [{ expr: `sum by (reason) (rate(leadrouter_leads_rejected_total[${R}]))`, legend: '{{reason}}' }] },
      { title: 'Leads received by source', description: 'Sources named in routes; everything else is "other".', unit: 'reqps', targets: [{ expr: `sum by (source) (rate(leadrouter_leads_received_total[${R}]))`, legend: '{{source}}' }] },
    ],
  },
  {
    title: 'Sales',
    panels: [
      { title: 'Leads sold by destination', description: 'Leads a destination accepted, per second.', unit: 'reqps', targets: [{ expr: `sum by (destination) (rate(leadrouter_leads_sold_total[${R}]))`, legend: '{{destination}}' }] },
      { title: 'Leads sold by supplier', description: 'Whose traffic sells.', unit: 'reqps', targets: [{ expr: `sum by (supplier) (rate(leadrouter_leads_sold_total[${R}]))`, legend: '{{supplier}}' }] },
      { title: 'Unsold by reason', description: 'no_route, all_rejected, no_eligible_destination.', unit: 'reqps', targets: [{ expr: `sum by (reason) (rate(leadrouter_leads_unsold_total[${R}]))`, legend: '{{reason}}' }] },
      { title: 'Acceptance rate by destination (postbacks)', description: 'Share of applied postbacks that say accepted or converted.', unit: 'percentunit', targets: [{ expr: `sum by (destination) (rate(leadrouter_postbacks_total{result="applied",status=~"accepted|converted"}[${R}])) / sum by (destination) (rate(leadrouter_postbacks_total{result="applied"}[${R}]))`, legend: '{{destination}}' }] },
      { title: 'Net revenue per hour', description: 'Revenue booked minus revenue taken back, over the last hour.', unit: 'currencyUSD', targets: [{ expr: 'sum(increase(leadrouter_revenue_total[1h])) - (sum(increase(leadrouter_revenue_returned_total[1h])) or vector(0))', legend: 'net' }] },
      { title: 'Revenue by destination per hour', description: 'Booked, including upward corrections.', unit: 'currencyUSD', targets: [{ expr: 'sum by (destination) (increase(leadrouter_revenue_total[1h]))', legend: '{{destination}}' }] },
    ],
  },
  {
    title: 'Delivery',
    panels: [
      { title: 'Delivery latency p50 / p99 by destination', description: 'One HTTP try.', unit: 's', targets: [
        { expr: `histogram_quantile(0.5, sum by (le, destination) (rate(leadrouter_delivery_duration_seconds_bucket[${R}])))`, legend: 'p50 {{destination}}' },
        { expr: `histogram_quantile(0.99, sum by (le, destination) (rate(leadrouter_delivery_duration_seconds_bucket[${R}])))`, legend: 'p99 {{destination}}' },
      ] },
      { title: 'Errors and timeouts by destination', description: 'Tries that ended in an error or a timeout, per second (0 when healthy).', unit: 'reqps', targets: [{ expr: `sum by (destination, outcome) (rate(leadrouter_delivery_attempts_total{outcome=~"error|timeout"}[${R}])) or sum by (destination) (rate(leadrouter_delivery_attempts_total[${R}])) * 0`, legend: '{{destination}} {{outcome}}' }] },
      { title: 'Delivery tries by outcome', description: 'accepted, rejected, error, timeout.', unit: 'reqps', targets: [{ expr: `sum by (outcome) (rate(leadrouter_delivery_attempts_total[${R}]))`, legend: '{{outcome}}' }] },
      { title: 'Open circuits', description: '1 while a destination is skipped after repeated errors.', unit: 'short', targets: [{ expr: 'max by (destination) (leadrouter_destination_circuit_open)', legend: '{{destination}}' }] },
      { title: 'Caps used', description: 'Sold leads counted against each cap in the current period.', unit: 'short', targets: [{ expr: 'max by (destination, period) (leadrouter_destination_cap_used)', legend: '{{destination}} {{period}}' }] },
      { title: 'Time to sale p50 / p99', description: 'From intake to a destination accepting the lead.', unit: 's', targets: [
        { expr: `histogram_quantile(0.5, sum by (le) (rate(leadrouter_lead_time_to_sale_seconds_bucket[${R}])))`, legend: 'p50' },
        { expr: `histogram_quantile(0.99, sum by (le) (rate(leadrouter_lead_time_to_sale_seconds_bucket[${R}])))`, legend: 'p99' },
      ] },
    ],
  },
  {
    title: 'Queues and services',
    panels: [
      { title: 'Queue depth', description: 'Jobs waiting, delayed and failed per queue (route, deliver-*, notify-*).', unit: 'short', targets: [{ expr: 'max by (queue, state) (leadrouter_queue_jobs{state=~"waiting|delayed|failed"})', legend: '{{queue}} {{state}}' }] },
      { title: 'Jobs in progress', description: 'Active jobs per queue.', unit: 'short', targets: [{ expr: 'max by (queue) (leadrouter_queue_jobs{state="active"})', legend: '{{queue}}' }] },
      { title: 'HTTP p99 by service', description: 'Intake, postback and worker endpoints.', unit: 's', targets: [{ expr: `histogram_quantile(0.99, sum by (le, service) (rate(leadrouter_http_request_duration_seconds_bucket[${R}])))`, legend: '{{service}}' }] },
    ],
  },
  {
    title: 'Ledger',
    panels: [
      { title: 'Ledger lag', description: 'Age of the oldest lead change not yet in PostgreSQL (0 when caught up).', unit: 's', targets: [{ expr: 'max(leadrouter_ledger_lag_seconds)', legend: 'lag' }] },
      { title: 'Ledger writes', description: 'Lead changes applied per second, and failed batches (PostgreSQL unreachable).', unit: 'ops', targets: [{ expr: `sum by (result) (rate(leadrouter_ledger_writes_total[${R}]))`, legend: '{{result}}' }] },
    ],
  },
]);

export const destination = build(
  'leadrouter-destination',
  'LeadRouter destination',
  'One destination in detail: pick it in the variable at the top.',
  [
    {
      title: 'Destination $destination',
      panels: [
        { title: 'Tries by outcome', description: 'accepted, rejected, error, timeout per second.', unit: 'reqps', targets: [{ expr: `sum by (outcome) (rate(leadrouter_delivery_attempts_total{destination="$destination"}[${R}]))`, legend: '{{outcome}}' }] },
        { title: 'Latency p50 / p99', description: 'One HTTP try.', unit: 's', targets: [
          { expr: `histogram_quantile(0.5, sum by (le) (rate(leadrouter_delivery_duration_seconds_bucket{destination="$destination"}[${R}])))`, legend: 'p50' },
          { expr: `histogram_quantile(0.99, sum by (le) (rate(leadrouter_delivery_duration_seconds_bucket{destination="$destination"}[${R}])))`, legend: 'p99' },
        ] },
        { title: 'Sold by supplier', description: 'Whose leads this destination buys.', unit: 'reqps', targets: [{ expr: `sum by (supplier) (rate(leadrouter_leads_sold_total{destination="$destination"}[${R}]))`, legend: '{{supplier}}' }] },
        { title: 'Postbacks by status', description: 'Applied postbacks per second.', unit: 'reqps', targets: [{ expr: `sum by (status) (rate(leadrouter_postbacks_total{destination="$destination",result="applied"}[${R}]))`, legend: '{{status}}' }] },
        { title: 'Revenue per hour', description: 'Booked and taken back.', unit: 'currencyUSD', targets: [
          { expr: 'sum(increase(leadrouter_revenue_total{destination="$destination"}[1h]))', legend: 'booked' },
          { expr: 'sum(increase(leadrouter_revenue_returned_total{destination="$destination"}[1h])) or vector(0)', legend: 'taken back' },
        ] },
        { title: 'Circuit and caps', description: 'Circuit open (1) and sold leads counted against caps.', unit: 'short', targets: [
          { expr: 'max(leadrouter_destination_circuit_open{destination="$destination"})', legend: 'circuit open' },
          { expr: 'max by (period) (leadrouter_destination_cap_used{destination="$destination"}) or max(leadrouter_destination_circuit_open{destination="$destination"}) * 0', legend: 'cap used {{period}}' },
        ] },
      ],
    },
  ],
  [
    {
      name: 'destination',
      label: 'Destination',
      type: 'query',
      datasource: DATASOURCE,
      query: { query: 'label_values(leadrouter_destination_circuit_open, destination)', refId: 'destination' },
      definition: 'label_values(leadrouter_destination_circuit_open, destination)',
      refresh: 2,
      sort: 1,
    },
  ],
);

export const DASHBOARDS = { 'leadrouter-overview.json': overview, 'leadrouter-destination.json': destination };

if (process.argv[1]?.endsWith('dashboards.ts')) {
  for (const [file, dashboard] of Object.entries(DASHBOARDS)) {
    writeFileSync(join(import.meta.dirname, 'dashboards', file), `${JSON.stringify(dashboard, null, 2)}\n`);
  }
}
