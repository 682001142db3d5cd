import type { ResolvedDestination, ResolvedPing } from '@leadrouter/config';
import { CONTACT_FIELDS, encodeUrlValue, headerSafe, type Lead, type ScalarValue } from '@leadrouter/lead';

export interface DeliveryRequest {
  method: 'POST' | 'PUT' | 'GET';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
const SINGLE = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Every value a template may name: the lead's fields, plus id, first_name, last_name, phone_national, quality, supplier. */
export function templateValues(lead: Lead): Record<string, ScalarValue> {
  const [first = '', ...rest] = lead.name.trim().split(/\s+/);
  const values: Record<string, ScalarValue> = Object.create(null) as Record<string, ScalarValue>;
  Object.assign(values, lead.fields);
  Object.assign(values, {
    name: lead.name,
    phone: lead.phone,
    geo: lead.geo,
    source: lead.source,
    email: lead.email ?? '',
    click_id: lead.click_id ?? '',
    ip: lead.ip ?? '',
    id: lead.id,
    first_name: first,
    last_name: rest.join(' '),
    phone_national: lead.phoneNational,
    quality: lead.quality,
    supplier: lead.supplier,
  });
  return values;
}

/**
 * Fills `{{field}}` placeholders; an unknown field becomes ''. A template that is exactly one
 * placeholder keeps the value's type (a number stays a number in JSON).
 */
export function renderTemplate(template: string, values: Record<string, ScalarValue>, encode?: (s: string) => string): ScalarValue {
  const single = SINGLE.exec(template);
  if (single && !encode) return values[single[1] as string] ?? '';
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const text = String(values[name] ?? '');
    return encode ? encode(text) : text;
  });
}

/** The lead's own fields, as sent when a destination has no `body` mapping. */
function leadFields(lead: Lead): Record<string, ScalarValue> {
  const out: Record<string, ScalarValue> = { name: lead.name, phone: lead.phone, geo: lead.geo, source: lead.source };
  if (lead.email !== undefined) out.email = lead.email;
  if (lead.click_id !== undefined) out.click_id = lead.click_id;
  if (lead.ip !== undefined) out.ip = lead.ip;
  return { ...out, ...lead.fields };
}

/** Sets `a.b.c` in a nested object (JSON bodies); refuses prototype keys. */
function setDotted(target: Record<string, unknown>, name: string, value: ScalarValue): void {
  const parts = name.split('.');
  if (parts.some((p) => UNSAFE_KEYS.has(p) || p === '')) return;
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}


/**
 * A bidder's ping for `lead` (contract §9): the ping's own url, method, format, headers and body
 * templates, filled from the lead without its contact data and without `ping.omit`. A template
 * naming one of those gets '' (the config check refuses such templates anyway); without `body`,
 * the ping carries the lead's remaining fields.
 */
export function buildPingRequest(ping: ResolvedPing, lead: Lead, options: { withoutQuality?: boolean } = {}): DeliveryRequest {
  // A supplier's ping has no contact data to score: its quality is not known, and not made up.
  const hidden = new Set([...CONTACT_FIELDS, ...ping.omit, ...(options.withoutQuality ? ['quality'] : [])]);
  const values = templateValues(lead);
  for (const name of hidden) delete values[name];
  const own = leadFields(lead);
  const fields = Object.fromEntries(Object.entries(own).filter(([name]) => !hidden.has(name)));
  const request = buildRequest(ping, lead, {}, { values, fields });
  delete request.headers['idempotency-key'];
  return request;
}

type RequestShape = Pick<ResolvedDestination, 'url' | 'method' | 'format' | 'headers' | 'body'>;

/**
 * The HTTP request for one delivery of `lead` to `destination` (contract §4). `extra` adds
 * template values (an auction's `bid` and `ping_reference`); `over` replaces the values and the
 * fields sent without a `body` (a ping's, without contact data).
 */
export function buildRequest(destination: RequestShape, lead: Lead, extra: Record<string, ScalarValue> = {}, over?: { values: Record<string, ScalarValue>; fields: Record<string, ScalarValue> }): DeliveryRequest {
  const values = over?.values ?? templateValues(lead);
  Object.assign(values, extra);
  const { method, format } = destination;
  let url = String(renderTemplate(destination.url, values, encodeUrlValue));
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(destination.headers)) {
    headers[name.toLowerCase()] = String(renderTemplate(template, values, headerSafe));
  }
  headers['idempotency-key'] = lead.id;
  headers['x-lead-id'] = lead.id;
  headers['user-agent'] ??= 'LeadRouter/0.1';

  const flat: Array<[string, ScalarValue]> = destination.body
    ? Object.entries(destination.body).map(([name, template]) => [name, renderTemplate(template, values)])
    : Object.entries(over?.fields ?? leadFields(lead));
  if (method === 'GET') {
    const target = new URL(url);
    for (const [name, value] of flat) target.searchParams.set(name, String(value));
    return { method, url: target.toString(), headers };
  }
  let body: string;
  if (format === 'form') {
    body = new URLSearchParams(flat.map(([k, v]): [string, string] => [k, String(v)])).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else {
    // Dotted names build nested JSON only in a `body` mapping; the lead's own fields are sent as
    // they are (an extra field named `utm.source` stays one flat key). fromEntries defines own
    // properties, so no name can reach Object.prototype.
    const object: Record<string, unknown> = destination.body ? {} : Object.fromEntries(flat);
    if (destination.body) for (const [name, value] of flat) setDotted(object, name, value);
    body = JSON.stringify(object);
    headers['content-type'] = 'application/json';
  }
  url = url.trim();
  return { method, url, headers, body };
}
