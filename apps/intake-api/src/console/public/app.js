// The LeadRouter console (contract §11): Preact components written with htm (tagged templates,
// no build step), calling the admin and ledger endpoints with the session cookie. Every unsafe
// request carries the session's X-CSRF-Token. Text is always rendered as text (Preact escapes it).
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = (value) => (value === null || value === undefined || Number.isNaN(value) ? '–' : `${Math.round(value * 1000) / 10} %`);

async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 401) {
    window.location.assign('/console/');
    throw new Error('signed out');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const problems = Array.isArray(data.errors) ? data.errors.map((e) => `${e.field}: ${e.message}`).join('; ') : data.message ?? data.reason ?? `HTTP ${res.status}`;
    throw new Error(problems);
  }
  return data;
}

/** Loads `path` now and every `everyMs` (0: once); returns [data, error, reload]. */
function useApi(path, everyMs = 0) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const load = useCallback(() => {
    if (!path) return;
    api(path).then(
      (data) => setState({ data, error: undefined }),
      (err) => setState((s) => ({ data: s.data, error: err.message })),
    );
  }, [path]);
  useEffect(() => {
    load();
    if (!everyMs) return undefined;
    const timer = setInterval(load, everyMs);
    return () => clearInterval(timer);
  }, [load, everyMs]);
  return [state.data, state.error, load];
}

function useHashRoute() {
  const [hash, setHash] = useState(window.location.hash || '#/overview');
  useEffect(() => {
    const onChange = () => setHash(window.location.hash || '#/overview');
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash.slice(2).split('/');
}

const Problem = ({ error }) => (error ? html`<p class="error" role="alert">${error}</p>` : null);

function Table({ label, columns, rows, empty = 'Nothing yet.' }) {
  if (!rows || rows.length === 0) return html`<p class="empty">${label}: ${empty}</p>`;
  return html`<div class="scroll"><table aria-label=${label}>
    <thead><tr>${columns.map((c) => html`<th scope="col" class=${c.numeric ? 'num' : ''}>${c.title}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr>${columns.map((c, i) => (i === 0 ? html`<th scope="row">${c.cell(row)}</th>` : html`<td class=${c.numeric ? 'num' : ''}>${c.cell(row)}</td>`))}</tr>`)}</tbody>
  </table></div>`;
}

function capText(cap) {
  return cap ? `${cap.used} / ${cap.limit} (${cap.left} left)` : 'none';
}

function DestinationStates({ destinations }) {
  return html`<${Table}
    label="Destinations"
    rows=${destinations}
    columns=${[
      { title: 'Destination', cell: (d) => d.id },
      { title: 'State', cell: (d) => d.state },
      { title: 'Schedule', cell: (d) => (d.schedule.open ? 'open' : 'closed') },
      { title: 'Circuit', cell: (d) => d.circuit.state },
      { title: 'Hourly cap', cell: (d) => capText(d.caps.hourly) },
      { title: 'Daily cap', cell: (d) => capText(d.caps.daily) },
      { title: 'Total cap', cell: (d) => capText(d.caps.total) },
      { title: 'Queue', numeric: true, cell: (d) => (d.queue ? d.queue.waiting + d.queue.delayed + d.queue.active : '–') },
      { title: 'Acceptance', numeric: true, cell: (d) => percent(d.learning.acceptance) },
      { title: 'Learnt revenue per lead', numeric: true, cell: (d) => money.format(d.learning.expectedRevenue) },
    ]}
  />`;
}

function PeriodFigures({ title, period }) {
  if (!period) return null;
  return html`<section aria-label=${title}>
    <h3>${title}</h3>
    <${Table}
      label=${`${title} by supplier`}
      rows=${period.bySupplier}
      columns=${[
        { title: 'Supplier', cell: (r) => r.supplier },
        { title: 'Received', numeric: true, cell: (r) => r.received },
        { title: 'Sold', numeric: true, cell: (r) => r.sold },
        { title: 'Unsold', numeric: true, cell: (r) => r.unsold },
        { title: 'Net revenue', numeric: true, cell: (r) => money.format(r.netRevenue) },
      ]}
    />
    <${Table}
      label=${`${title} by destination`}
      rows=${period.byDestination}
      columns=${[
        { title: 'Destination', cell: (r) => r.destination },
        { title: 'Sold', numeric: true, cell: (r) => r.sold },
        { title: 'Net revenue', numeric: true, cell: (r) => money.format(r.netRevenue) },
      ]}
    />
  </section>`;
}

function Overview() {
  const [destinations, destError] = useApi('/v1/admin/destinations', 5000);
  const [overview, overviewError] = useApi('/v1/admin/overview', 5000);
  return html`<section aria-labelledby="overview-title">
    <h2 id="overview-title">Overview</h2>
    <p class="muted" role="status">${overview ? `Updated ${new Date(overview.at).toLocaleTimeString()}; days in ${overview.timezone}` : 'Loading…'}</p>
    <${Problem} error=${destError ?? overviewError} />
    ${destinations && html`<${DestinationStates} destinations=${destinations.destinations} />`}
    <div class="periods">
      <${PeriodFigures} title="Last hour" period=${overview?.lastHour} />
      <${PeriodFigures} title="Today" period=${overview?.today} />
    </div>
  </section>`;
}

const STATUSES = ['', 'queued', 'delivered', 'unsold', 'accepted', 'rejected', 'converted', 'returned'];

function LeadSearch() {
  const [query, setQuery] = useState(undefined);
  const form = useRef(null);
  const [result, error] = useApi(query ? `/v1/leads?${query}` : undefined);
  const submit = (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form.current)) {
      const text = String(value).trim();
      if (text === '') continue;
      // Dates are whole days, from the start of `from` to the end of `to` (UTC).
      if (name === 'from') params.set(name, `${text}T00:00:00Z`);
      else if (name === 'to') params.set(name, new Date(Date.parse(`${text}T00:00:00Z`) + 86_400_000).toISOString());
      else params.set(name, text);
    }
    params.set('limit', '50');
    setQuery(params.toString());
  };
  return html`<section aria-labelledby="leads-title">
    <h2 id="leads-title">Leads</h2>
    <form ref=${form} class="search" onSubmit=${submit} aria-label="Search leads">
      <label>Phone <input name="phone" type="search" autocomplete="off" /></label>
      <label>Email <input name="email" type="search" autocomplete="off" /></label>
      <label>Supplier <input name="supplier" type="search" /></label>
      <label>Source <input name="source" type="search" /></label>
      <label>Geo <input name="geo" type="search" maxlength="2" size="3" /></label>
      <label>Destination <input name="destination" type="search" /></label>
      <label>Status <select name="status">${STATUSES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}</select></label>
      <label>From <input name="from" type="date" /></label>
      <label>To <input name="to" type="date" /></label>
      <button type="submit">Search</button>
    </form>
    <${Problem} error=${error} />
    ${result &&
    html`<${Table}
      label="Search results"
      empty="no lead matches."
      rows=${result.leads}
      columns=${[
        { title: 'Lead', cell: (l) => html`<a href=${`#/lead/${encodeURIComponent(l.id)}`} aria-label=${`Open lead ${l.id}`}>${l.id}</a>` },
        { title: 'Received', cell: (l) => new Date(l.createdAt).toLocaleString() },
        { title: 'Supplier', cell: (l) => l.supplier },
        { title: 'Source', cell: (l) => l.source },
        { title: 'Geo', cell: (l) => l.geo },
        { title: 'Phone', cell: (l) => l.phone },
        { title: 'Status', cell: (l) => l.status },
        { title: 'Destination', cell: (l) => l.destination ?? '–' },
      ]}
    />`}
  </section>`;
}

function eventDetails(e) {
  const parts = [];
  for (const [name, value] of Object.entries(e)) {
    if (name === 'at' || name === 'type' || value === null || value === undefined || value === '') continue;
    parts.push(`${name}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
  return parts.join(' · ');
}

function LeadTimeline({ id }) {
  const [lead, error, reload] = useApi(`/v1/leads/${encodeURIComponent(id)}`);
  const [notice, setNotice] = useState(undefined);
  const redeliver = () => {
    api(`/v1/admin/leads/${encodeURIComponent(id)}/redeliver`, { method: 'POST' }).then(
      () => {
        setNotice('Queued for a new round of routing.');
        setTimeout(reload, 1000);
      },
      (err) => setNotice(`Not redelivered: ${err.message}`),
    );
  };
  return html`<section aria-labelledby="lead-title">
    <p><a href="#/leads">← Back to the search</a></p>
    <h2 id="lead-title">Lead ${id}</h2>
    <${Problem} error=${error} />
    ${lead &&
    html`<dl class="facts" aria-label="Lead summary">
        <dt>Status</dt><dd>${lead.status}</dd>
        <dt>Supplier</dt><dd>${lead.supplier}</dd>
        <dt>Source</dt><dd>${lead.source}</dd>
        <dt>Geo</dt><dd>${lead.geo}</dd>
        <dt>Destination</dt><dd>${lead.destination ?? '–'}</dd>
        <dt>Payout</dt><dd>${lead.payout === undefined || lead.payout === null ? '–' : money.format(lead.payout)}</dd>
        ${(lead.sales ?? []).length > 1 || (!lead.destination && (lead.sales ?? []).length > 0)
          ? html`<dt>Sales</dt><dd><ul class="sales" aria-label="Sales">${lead.sales.map((s) => html`<li>${s.destination}: ${money.format(s.payout)} (${s.status})</li>`)}</ul></dd>`
          : ''}
      </dl>
      ${lead.status === 'unsold' && html`<button type="button" onClick=${redeliver}>Redeliver</button>`}
      <p role="status">${notice ?? ''}</p>
      <h3>Timeline</h3>
      <ol class="timeline" aria-label="Timeline">
        ${(lead.events ?? []).map(
          (e) => html`<li class=${`event event-${e.type}`}>
            <time datetime=${e.at}>${new Date(e.at).toLocaleString()}</time>
            <strong>${e.type}</strong>
            <span class="details">${eventDetails(e)}</span>
          </li>`,
        )}
      </ol>`}
  </section>`;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function RevenueChart({ rows }) {
  const canvas = useRef(null);
  useEffect(() => {
    if (!canvas.current || !window.Chart) return undefined;
    const days = [...new Set(rows.map((r) => r.day))].sort();
    const sources = [...new Set(rows.map((r) => r.source ?? '(none)'))].sort();
    const datasets = sources.map((source) => ({
      label: source,
      data: days.map((day) => rows.filter((r) => r.day === day && (r.source ?? '(none)') === source).reduce((sum, r) => sum + r.netRevenue, 0)),
    }));
    const chart = new window.Chart(canvas.current, {
      type: 'bar',
      data: { labels: days, datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'Net revenue' } } } },
    });
    return () => chart.destroy();
  }, [rows]);
  return html`<div class="chart"><canvas ref=${canvas} role="img" aria-label="Net revenue by day and source"></canvas></div>`;
}

function Reports() {
  const today = new Date();
  const [range, setRange] = useState({ from: isoDay(new Date(today.getTime() - 6 * 86_400_000)), to: isoDay(today) });
  const query = new URLSearchParams({ from: `${range.from}T00:00:00Z`, to: new Date(Date.parse(`${range.to}T00:00:00Z`) + 86_400_000).toISOString(), groupBy: 'day,source' }).toString();
  const [report, error] = useApi(`/v1/reports?${query}`);
  const form = useRef(null);
  const submit = (event) => {
    event.preventDefault();
    const data = new FormData(form.current);
    setRange({ from: String(data.get('from')), to: String(data.get('to')) });
  };
  return html`<section aria-labelledby="reports-title">
    <h2 id="reports-title">Reports</h2>
    <form ref=${form} class="search" onSubmit=${submit} aria-label="Report range">
      <label>From <input name="from" type="date" value=${range.from} required /></label>
      <label>To <input name="to" type="date" value=${range.to} required /></label>
      <button type="submit">Show report</button>
      <a class="button" href=${`/v1/reports.csv?${query}`} download>Download CSV</a>
    </form>
    <${Problem} error=${error} />
    ${report && report.rows.length > 0 && html`<${RevenueChart} rows=${report.rows} />`}
    ${report &&
    html`<${Table}
      label="Net revenue by day and source"
      empty="no leads in this range."
      rows=${report.rows}
      columns=${[
        { title: 'Day', cell: (r) => r.day },
        { title: 'Source', cell: (r) => r.source ?? '(none)' },
        { title: 'Received', numeric: true, cell: (r) => r.received },
        { title: 'Sold', numeric: true, cell: (r) => r.sold },
        { title: 'Unsold', numeric: true, cell: (r) => r.unsold },
        { title: 'Returned', numeric: true, cell: (r) => r.returned },
        { title: 'Net revenue', numeric: true, cell: (r) => money.format(r.netRevenue) },
        { title: 'EPL', numeric: true, cell: (r) => money.format(r.epl) },
      ]}
    />`}
  </section>`;
}

const PERIODS = ['hourly', 'daily', 'total'];

/**
 * A destination's caps. The inputs keep what the operator types (the 5 s refresh does not
 * overwrite it), and only the periods changed are sent: the others stay the file's.
 */
function CapsForm({ destination, onDone }) {
  const shown = (period) => String(destination.caps[period]?.limit ?? '');
  const [typed, setTyped] = useState({});
  const save = (event) => {
    event.preventDefault();
    const caps = {};
    for (const [period, text] of Object.entries(typed)) {
      if (text.trim() === shown(period)) continue;
      caps[period] = text.trim() === '' ? null : Number(text.trim());
    }
    if (Object.keys(caps).length === 0) return;
    onDone(api(`/v1/admin/destinations/${encodeURIComponent(destination.id)}/caps`, { method: 'PUT', body: caps }), `Caps of ${destination.id} saved.`).then((ok) => ok && setTyped({}));
  };
  const clear = () => onDone(api(`/v1/admin/destinations/${encodeURIComponent(destination.id)}/caps`, { method: 'DELETE' }), `Cap overrides of ${destination.id} cleared.`).then((ok) => ok && setTyped({}));
  return html`<form class="caps" onSubmit=${save} aria-label=${`Caps of ${destination.id}`}>
    ${PERIODS.map(
      (period) => html`<label>${period}
        <input
          name=${period}
          type="number"
          min="0"
          step="1"
          inputmode="numeric"
          aria-label=${`${period} cap of ${destination.id}`}
          value=${typed[period] ?? shown(period)}
          onInput=${(e) => setTyped((t) => ({ ...t, [period]: e.currentTarget.value }))}
          placeholder="none"
        />
      </label>`,
    )}
    <button type="submit" aria-label=${`Save caps of ${destination.id}`}>Save caps</button>
    ${destination.overrides?.caps && html`<button type="button" aria-label=${`Clear cap overrides of ${destination.id}`} onClick=${clear}>Clear overrides</button>`}
  </form>`;
}

function Destinations() {
  const [data, error, reload] = useApi('/v1/admin/destinations', 5000);
  const [notice, setNotice] = useState('');
  /** Shows how an action went; resolves to whether it was done. */
  const done = (promise, message) =>
    promise.then(
      () => {
        setNotice(message);
        reload();
        return true;
      },
      (err) => {
        setNotice(`Refused: ${err.message}`);
        return false;
      },
    );
  const toggle = (d) =>
    done(api(`/v1/admin/destinations/${encodeURIComponent(d.id)}/${d.paused ? 'resume' : 'pause'}`, { method: 'POST' }), `${d.id} ${d.paused ? 'resumed' : 'paused'}.`);
  return html`<section aria-labelledby="destinations-title">
    <h2 id="destinations-title">Destinations</h2>
    <p role="status">${notice}</p>
    <${Problem} error=${error} />
    ${data &&
    html`<ul class="destinations">
      ${data.destinations.map(
        (d) => html`<li aria-label=${`Destination ${d.id}`}>
          <h3>${d.id} <span class=${`badge ${d.state}`}>${d.state}</span></h3>
          <p class="muted">Circuit ${d.circuit.state}; schedule ${d.schedule.open ? 'open' : 'closed'}; sold today ${d.today.sold}</p>
          <button type="button" onClick=${() => toggle(d)} aria-label=${`${d.paused ? 'Resume' : 'Pause'} ${d.id}`}>${d.paused ? 'Resume' : 'Pause'}</button>
          <${CapsForm} destination=${d} onDone=${done} />
        </li>`,
      )}
    </ul>`}
  </section>`;
}

/** A hash part as typed: a malformed escape (`%zz`) is shown as it is rather than breaking the page. */
function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const TABS = [
  ['overview', 'Overview'],
  ['leads', 'Leads'],
  ['reports', 'Reports'],
  ['destinations', 'Destinations'],
];

function App() {
  const [view, id] = useHashRoute();
  const signOut = () => {
    fetch('/console/logout', { method: 'POST', headers: { 'x-csrf-token': csrf }, credentials: 'same-origin' }).finally(() => window.location.assign('/console/'));
  };
  const current = view === 'lead' ? 'leads' : view;
  return html`<header>
      <h1>LeadRouter</h1>
      <nav aria-label="Console">
        ${TABS.map(([name, title]) => html`<a href=${`#/${name}`} aria-current=${current === name ? 'page' : undefined}>${title}</a>`)}
      </nav>
      <button type="button" class="quiet" onClick=${signOut}>Sign out</button>
    </header>
    <main>
      ${view === 'leads' && html`<${LeadSearch} />`}
      ${view === 'lead' && id && html`<${LeadTimeline} id=${safeDecode(id)} />`}
      ${view === 'reports' && html`<${Reports} />`}
      ${view === 'destinations' && html`<${Destinations} />`}
      ${!['leads', 'lead', 'reports', 'destinations'].includes(view) && html`<${Overview} />`}
    </main>`;
}

const root = document.getElementById('app');
// The shell's "Loading…" goes: Preact renders into the container, it does not replace what is there.
root.replaceChildren();
render(html`<${App} />`, root);
