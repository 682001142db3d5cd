import type { FieldError } from '@leadrouter/lead';

/** 64 KiB: larger bodies are refused with 413 before a byte of them is parsed (contract §3). */
export const MAX_BODY_BYTES = 64 * 1024;

export type BodyKind = 'json' | 'form';

export type ContentTypeCheck = { ok: true; kind: BodyKind } | { ok: false; message: string };

/** application/json or application/x-www-form-urlencoded, in UTF-8 (or with no charset); else 415. */
export function checkContentType(header: string | undefined): ContentTypeCheck {
  if (!header) return { ok: false, message: 'Content-Type is required: application/json or application/x-www-form-urlencoded' };
  const [type = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  const kind: BodyKind | undefined =
    type === 'application/json' ? 'json' : type === 'application/x-www-form-urlencoded' ? 'form' : undefined;
  if (!kind) return { ok: false, message: `unsupported Content-Type "${type}"` };
  for (const param of params) {
    const [name, rawValue = ''] = param.split('=').map((s) => s.trim());
    const value = rawValue.replace(/^"(.*)"$/, '$1');
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      return { ok: false, message: `unsupported charset "${value}": send UTF-8` };
    }
  }
  return { ok: true, kind };
}

export type ParsedBody = { ok: true; value: unknown } | { ok: false; errors: FieldError[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes strict UTF-8 and parses JSON or form fields. Never throws. */
export function parseBody(kind: BodyKind, raw: Buffer | undefined): ParsedBody {
  let text: string;
  try {
    text = utf8.decode(raw ?? Buffer.alloc(0));
  } catch {
    return { ok: false, errors: [{ field: 'body', message: 'is not valid UTF-8' }] };
  }
  if (kind === 'json') {
    if (text.trim() === '') return { ok: false, errors: [{ field: 'body', message: 'is empty: send a JSON object' }] };
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (err) {
      return { ok: false, errors: [{ field: 'body', message: `malformed JSON: ${(err as Error).message}` }] };
    }
  }
  return parseForm(text);
}

function parseForm(text: string): ParsedBody {
  const params = new URLSearchParams(text);
  const value: Record<string, string> = {};
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const [key, item] of params) {
    if (seen.has(key)) {
      if (!errors.some((e) => e.field === key)) errors.push({ field: key, message: 'must be sent once: arrays are invalid' });
      continue;
    }
    seen.add(key);
    // defineProperty: a field named __proto__ must become a plain property, not a prototype change.
    Object.defineProperty(value, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
