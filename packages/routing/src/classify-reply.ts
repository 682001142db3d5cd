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
 * `status` applies to 2xx, a reject rule without `status` to any status). A status listed in a
 * rule's `status` whose body no rule confirms is an error ("a body that no rule can read"), and so
 * is a 2xx when an accept rule exists but does not hold. Otherwise the defaults: 2xx accepts, 4xx
 * other than 408 and 429 rejects, anything else (3xx, 5xx, 408, 429) is an error.
 */
export function classifyReply(rules: ResponseRules | undefined, reply: Reply): ReplyClass {
  const { status } = reply;
  let json: { parsed: boolean; value?: unknown } | undefined;
  const body = (): { parsed: boolean; value?: unknown } => {
    if (json) return json;
    try {
      json = reply.truncated ? { parsed: false } : { parsed: true, value: JSON.parse(reply.body.toString('utf8')) as unknown };
    } catch {
      json = { parsed: false };
    }
    return json;
  };
  const accept = rules?.accept;
  const reject = rules?.reject;
  const applies = (rule: Rule | undefined, fallback: (s: number) => boolean): boolean =>
    rule !== undefined && (rule.status ? rule.status.includes(status) : fallback(status));
  if (applies(accept, is2xx) && ruleHolds(accept as Rule, body)) return { outcome: 'accepted' };
  if (applies(reject, () => true) && ruleHolds(reject as Rule, body)) return { outcome: 'rejected', detail: `HTTP ${status} matched the reject rule` };
  if (status >= 300 && status < 400) return { outcome: 'error', error: `redirect (HTTP ${status}) not followed` };
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

function is2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

function ruleHolds(rule: Rule, body: () => { parsed: boolean; value?: unknown }): boolean {
  if (rule.path === undefined) return true;
  const { parsed, value } = body();
  if (!parsed) return false;
  const found = readPath(value, rule.path);
  if (found === undefined) return false;
  if ('equals' in rule) return sameScalar(found, rule.equals);
  if (rule.in) return rule.in.some((option) => sameScalar(found, option));
  if (rule.matches !== undefined) return typeof found !== 'object' && new RegExp(rule.matches).test(String(found));
  return true;
}

/** `result`, `data.status`, `items.0.id`: a dotted path into parsed JSON; own properties only. */
function readPath(value: unknown, path: string): unknown {
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
