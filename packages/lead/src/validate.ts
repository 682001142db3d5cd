import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { isCountryCode } from './countries.js';
import type { FieldError, LeadInput, ScalarValue } from './lead.js';
import { checkPhone } from './phone.js';
import { hasLoneSurrogate } from './safe-text.js';
import { qualityScore } from './quality.js';

export const MAX_EXTRA_FIELDS = 50;
export const STANDARD_FIELDS = ['name', 'phone', 'geo', 'source', 'email', 'click_id', 'ip'] as const;
/**
 * Names a supplier may not use for an extra field: they would reach JavaScript's object machinery.
 * Any other name matching the pattern is kept (contract §3); in templates, the values LeadRouter
 * derives (`id`, `first_name`, `quality`, ...) win over extra fields of the same name.
 */
export const RESERVED_FIELDS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const EXTRA_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The JSON Schema of a lead's shape (ajv), before the checks it cannot say (phone, geo code, extra names). */
export const leadSchema = {
  type: 'object',
  required: ['name', 'phone', 'geo', 'source'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    phone: { type: 'string', minLength: 1, maxLength: 64 },
    geo: { type: 'string', pattern: '^[A-Za-z]{2}$' },
    source: { type: 'string', minLength: 1, maxLength: 100 },
    email: { type: 'string', maxLength: 254, format: 'email' },
    click_id: { type: 'string', minLength: 1, maxLength: 256 },
    ip: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
  },
  additionalProperties: { type: ['string', 'number', 'boolean'], maxLength: 1000 },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
// ajv-formats is CommonJS: under NodeNext its function is the `default` of the default import.
addFormats.default(ajv, ['email', 'ipv4', 'ipv6']);
const validateShape = ajv.compile(leadSchema);

const MESSAGES: Partial<Record<string, (e: ErrorObject) => string>> = {
  type: (e) => `must be ${(e.params as { type: string | string[] }).type.toString().replace(/,/g, ', ')}`.replace(/, ([a-z]+)$/, ' or $1'),
  minLength: () => 'must not be empty',
  maxLength: (e) => `must be at most ${(e.params as { limit: number }).limit} characters`,
  pattern: () => 'must be a two-letter ISO 3166-1 country code',
  format: (e) => `must be a valid ${(e.params as { format: string }).format === 'email' ? 'email address' : 'IP address'}`,
  anyOf: () => 'must be a valid IPv4 or IPv6 address',
};

export type LeadValidation =
  | { ok: true; lead: LeadInput; quality: number; phoneNational: string }
  | { ok: false; errors: FieldError[] };

/**
 * Validates a parsed request body (JSON object or form fields) against contract §3 and normalises
 * it: trims, upper-cases geo, phone to E.164. Returns every failing field, never just the first.
 * Optional fields that are `null` or empty strings count as absent (form posts send `email=`).
 */
export function validateLead(body: unknown): LeadValidation {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, errors: [{ field: 'body', message: 'must be a JSON object or form fields' }] };
  }
  const input: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  let extraCount = 0;
  for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
    const value = typeof raw === 'string' ? raw.trim() : raw;
    const standard = (STANDARD_FIELDS as readonly string[]).includes(key);
    if (!standard) {
      const refused = extraNameProblem(key);
      if (refused) {
        errors.push(refused);
        continue;
      }
      extraCount++;
    }
    if ((value === null || value === '') && !['name', 'phone', 'geo', 'source'].includes(key)) continue;
    const unfit = unfitScalar(value);
    if (unfit !== undefined) {
      errors.push({ field: key, message: unfit });
      continue;
    }
    Object.defineProperty(input, key, { value, enumerable: true, writable: true, configurable: true });
  }
  if (extraCount > MAX_EXTRA_FIELDS) {
    errors.push({ field: 'body', message: `at most ${MAX_EXTRA_FIELDS} extra fields are allowed, got ${extraCount}` });
  }
  if (!validateShape(input)) {
    // A field refused above is left out of `input`: its own message says more than "is required".
    const named = new Set(errors.map((e) => e.field));
    errors.push(...shapeErrors(validateShape.errors ?? []).filter((e) => !named.has(e.field)));
  }

  const failed = new Set(errors.map((e) => e.field));
  const geo = typeof input.geo === 'string' ? input.geo.toUpperCase() : undefined;
  if (geo !== undefined && !failed.has('geo') && !isCountryCode(geo)) {
    errors.push({ field: 'geo', message: `"${geo}" is not an ISO 3166-1 alpha-2 country code` });
    failed.add('geo');
  }
  let phone: ReturnType<typeof checkPhone> | undefined;
  if (typeof input.phone === 'string' && !failed.has('phone')) {
    if (geo === undefined || failed.has('geo')) {
      errors.push({ field: 'phone', message: 'cannot be checked without a valid geo' });
    } else {
      phone = checkPhone(input.phone, geo);
      if (!phone.ok) errors.push({ field: 'phone', message: phone.message });
    }
  }
  if (errors.length > 0 || !phone?.ok) return { ok: false, errors: sortErrors(errors) };

  const fields: Record<string, ScalarValue> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(STANDARD_FIELDS as readonly string[]).includes(key)) fields[key] = value as ScalarValue;
  }
  const lead: LeadInput = {
    name: input.name as string,
    phone: phone.e164,
    geo: geo as string,
    source: input.source as string,
    fields,
  };
  if (typeof input.email === 'string') lead.email = input.email;
  if (typeof input.click_id === 'string') lead.click_id = input.click_id;
  if (typeof input.ip === 'string') lead.ip = input.ip;
  const quality = qualityScore({
    mobile: phone.mobile,
    email: lead.email !== undefined,
    ip: lead.ip !== undefined,
    fullName: lead.name.split(/\s+/).filter(Boolean).length >= 2,
    clickId: lead.click_id !== undefined,
  });
  return { ok: true, lead, quality, phoneNational: phone.national };
}

/**
 * What JSON can carry but a lead cannot: a number out of range (`1e400` parses as Infinity, and
 * would be stored as null), and text with a lone UTF-16 surrogate (`"\\ud800"` is no character:
 * it cannot be encoded as UTF-8, in a URL or in a header, so no buyer could be sent it).
 */
function unfitScalar(value: unknown): string | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return 'must be a finite number';
  if (typeof value === 'string' && hasLoneSurrogate(value)) return 'is not valid text: it holds a lone UTF-16 surrogate';
  return undefined;
}

function shapeErrors(errors: ErrorObject[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // Errors under an anyOf branch are summarised by the anyOf error itself.
    if (e.schemaPath.includes('/anyOf/')) continue;
    let field = e.instancePath.split('/')[1] ?? '';
    if (e.keyword === 'required') field = (e.params as { missingProperty: string }).missingProperty;
    const message = e.keyword === 'required' ? 'is required' : (MESSAGES[e.keyword]?.(e) ?? e.message ?? 'is invalid');
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, message });
  }
  return out;
}

function sortErrors(errors: FieldError[]): FieldError[] {
  const order = (f: string): number => {
    const i = (STANDARD_FIELDS as readonly string[]).indexOf(f);
    return i === -1 ? STANDARD_FIELDS.length : i;
  };
  return [...errors].sort((a, b) => order(a.field) - order(b.field));
}

/** Why an extra field's name is refused (a reserved name, or not of the pattern), if it is. */
function extraNameProblem(key: string): FieldError | undefined {
  if (RESERVED_FIELDS.has(key)) return { field: key, message: 'is a reserved name and cannot be sent as a lead field' };
  if (!EXTRA_NAME.test(key)) return { field: key.slice(0, 80), message: 'field names must match ^[A-Za-z0-9_.-]{1,64}$' };
  return undefined;
}

/** A supplier's ping (contract §9): the lead's fields without its contact data. */
export interface PingInput {
  geo: string;
  source: string;
  fields: Record<string, ScalarValue>;
}

/**
 * A lead's contact data, in every form a template can name it (contract §9): never in a ping. A
 * supplier ping's body may carry them; they are dropped unread.
 */
export const CONTACT_FIELDS: readonly string[] = ['name', 'first_name', 'last_name', 'phone', 'phone_national', 'email', 'ip', 'click_id'];
const PING_IGNORED_FIELDS: ReadonlySet<string> = new Set(CONTACT_FIELDS);

/**
 * Validates a supplier's ping body: `geo` and `source` as for a lead (required), extra fields as
 * for a lead; the contact fields, when sent, are dropped unread. Every problem is listed.
 */
export function validatePing(body: unknown): { ok: true; ping: PingInput } | { ok: false; errors: FieldError[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, errors: [{ field: 'body', message: 'must be a JSON object or form fields' }] };
  const errors: FieldError[] = [];
  const fields: Record<string, ScalarValue> = {};
  let geo: string | undefined;
  let source: string | undefined;
  let extraCount = 0;
  for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
    if (PING_IGNORED_FIELDS.has(key)) continue;
    const value = typeof raw === 'string' ? raw.trim() : raw;
    if (key === 'geo') {
      if (typeof value !== 'string' || !/^[A-Za-z]{2}$/.test(value) || !isCountryCode(value.toUpperCase())) errors.push({ field: 'geo', message: 'must be an ISO 3166-1 alpha-2 country code' });
      else geo = value.toUpperCase();
      continue;
    }
    if (key === 'source') {
      if (typeof value !== 'string' || value === '' || value.length > 100 || hasLoneSurrogate(value)) errors.push({ field: 'source', message: 'must be text of 1 to 100 characters' });
      else source = value;
      continue;
    }
    const refused = extraNameProblem(key);
    if (refused) {
      errors.push(refused);
      continue;
    }
    extraCount++;
    if (value === null || value === '') continue;
    const unfit = unfitScalar(value) ?? (typeof value === 'string' && value.length > 1000 ? 'must be at most 1000 characters' : typeof value === 'object' ? 'must be string, number or boolean' : undefined);
    if (unfit !== undefined) errors.push({ field: key, message: unfit });
    else fields[key] = value as ScalarValue;
  }
  if (extraCount > MAX_EXTRA_FIELDS) errors.push({ field: 'body', message: `at most ${MAX_EXTRA_FIELDS} extra fields are allowed, got ${extraCount}` });
  if (geo === undefined && !errors.some((e) => e.field === 'geo')) errors.push({ field: 'geo', message: 'is required' });
  if (source === undefined && !errors.some((e) => e.field === 'source')) errors.push({ field: 'source', message: 'is required' });
  if (errors.length > 0 || geo === undefined || source === undefined) return { ok: false, errors: sortErrors(errors) };
  return { ok: true, ping: { geo, source, fields } };
}
