import { RE2JS } from 're2js';
import type { DestinationConfig } from '@leadrouter/config';

type ResponseRules = NonNullable<DestinationConfig['response']>;
type Rule = NonNullable<ResponseRules['accept']>;

/** What came back from a destination, with the body already cut at 64 KiB. */
export interface Reply {
  status: number;
  body: Buffer;
  truncated: boolean;
}

export type ReplyClass =
  | { outcome: 'accepted' }
  | { outcome: 'rejected'; detail: string }
  | { outcome: 'error'; error: string };

/**
 * Contract §4: an explicit `accept` rule, then an explicit `reject` rule (an accept rule without
 * `status` applies to 2xx, a reject rule without `status` to any status). A reply that the accept
 * rule covers, whose body was read (and parsed, where the rule has a `path`) but does not satisfy
 * the rule, is a rejection: the buyer answered and did not say yes. A covered reply whose body
 * could not be read (not JSON, cut at 64 KiB) is an error, and so is a status listed only in the
 * reject rule whose body that rule cannot confirm. Otherwise the defaults: 2xx accepts, 4xx other
 * than 408 and 429 rejects, anything else (3xx, 5xx, 408, 429) is an error.
 */
export function classifyReply(rules: ResponseRules | undefined, reply: Reply): ReplyClass {
  const { status } = reply;
  const body = lazyJson(reply);
  const accept = rules?.accept;
  const reject = rules?.reject;
  const applies = (rule: Rule | undefined, fallback: (s: number) => boolean): boolean =>
    rule !== undefined && (rule.status ? rule.status.includes(status) : fallback(status));
  if (applies(accept, is2xx) && ruleHolds(accept as Rule, body)) return { outcome: 'accepted' };
  if (applies(reject, () => true) && ruleHolds(reject as Rule, body)) return { outcome: 'rejected', detail: `HTTP ${status} matched the reject rule` };
  if (status >= 300 && status < 400) return { outcome: 'error', error: `redirect (HTTP ${status}) not followed` };
  if (applies(accept, is2xx) && (accept as Rule).path !== undefined && body().parsed) {
    return { outcome: 'rejected', detail: `HTTP ${status}: the reply did not satisfy the accept rule` };
  }
  // A status listed in a rule is one the buyer answers with a body to read: if no rule could read it, that is an error.
  if (accept?.status?.includes(status) || reject?.status?.includes(status)) {
    return { outcome: 'error', error: `HTTP ${status}: reply matched no accept or reject rule` };
  }
  if (is2xx(status)) {
    return accept === undefined ? { outcome: 'accepted' } : { outcome: 'error', error: `HTTP ${status}: reply matched no accept or reject rule` };
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { outcome: 'rejected', detail: `HTTP ${status}` };
  return { outcome: 'error', error: `HTTP ${status}` };
}

/** The reply's body as JSON, parsed on first use and once: `parsed: false` when it is cut at 64 KiB or is not JSON. */
export function lazyJson(reply: Reply): () => { parsed: boolean; value?: unknown } {
  let json: { parsed: boolean; value?: unknown } | undefined;
  return () => {
    if (json) return json;
    try {
      json = reply.truncated ? { parsed: false } : { parsed: true, value: JSON.parse(reply.body.toString('utf8')) as unknown };
    } catch {
      json = { parsed: false };
    }
    return json;
  };
}

function is2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

export function ruleHolds(rule: Rule, body: () => { parsed: boolean; value?: unknown }): boolean {
  if (rule.path === undefined) return true;
  const { parsed, value } = body();
  if (!parsed) return false;
  const found = readPath(value, rule.path);
  if (found === undefined) return false;
  if ('equals' in rule) return sameScalar(found, rule.equals);
  if (rule.in) return rule.in.some((option) => sameScalar(found, option));
  if (rule.matches !== undefined) return typeof found !== 'object' && compiled(rule.matches).matcher(String(found)).find();
  return true;
}

/** `result`, `data.status`, `items.0.id`: a dotted path into parsed JSON; own properties only. */
export function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a === 'object' || typeof b === 'object') return false;
  return String(a) === String(b);
}

const patterns = new Map<string, RE2JS>();

/**
 * `matches` runs on what a buyer sends back, so it runs on RE2 (re2js): linear time in the reply,
 * whatever the pattern, where JavaScript's backtracking RegExp can take for ever on `^(a+)+$`.
 * Patterns come from the config (checked at load to be RE2 syntax) and are compiled once.
 */
function compiled(pattern: string): RE2JS {
  let regex = patterns.get(pattern);
  if (!regex) {
    regex = RE2JS.compile(pattern);
    patterns.set(pattern, regex);
  }
  return regex;
}

