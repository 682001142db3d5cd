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
 * Contract §4: an explicit `accept` rule, then an explicit `reject` rule; a status that a rule names
 * but whose body the rule cannot confirm is an error ("a body that no rule can read"). Otherwise the
 * defaults: 2xx accepts (only when no accept rule is given), 4xx other than 408 and 429 rejects,
 * and anything else (3xx, 5xx, 408, 429) is an error. A rule without `status` covers 2xx (accept)
 * or every status (reject).
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
  const covers = (rule: Rule | undefined, fallback: (s: number) => boolean): boolean =>
    rule !== undefined && (rule.status ? rule.status.includes(status) : fallback(status));
  const acceptCovers = covers(accept, is2xx);
  const rejectCovers = covers(reject, () => true);
  if (acceptCovers && ruleHolds(accept as Rule, body)) return { outcome: 'accepted' };
  if (rejectCovers && ruleHolds(reject as Rule, body)) return { outcome: 'rejected', detail: `HTTP ${status} matched the reject rule` };
  if (status >= 300 && status < 400) return { outcome: 'error', error: `redirect (HTTP ${status}) not followed` };
  if (acceptCovers || rejectCovers) return { outcome: 'error', error: `HTTP ${status}: reply matched no accept or reject rule` };
  if (is2xx(status)) {
    return accept === undefined ? { outcome: 'accepted' } : { outcome: 'error', error: `HTTP ${status} outside the accept rule` };
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
