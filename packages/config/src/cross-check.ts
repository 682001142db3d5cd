import { RE2JS } from 're2js';
import { CONTACT_FIELDS } from '@leadrouter/lead';
import { joinPath, type ConfigProblem } from './errors.js';
import type { Pruned } from './prune.js';
import { keyDigest } from './resolve.js';
import type { LeadRouterConfig } from './schema.js';

/** The config as the cross-checks see it: what the schema accepted, any value possibly missing. */
type Checkable = Pruned<LeadRouterConfig>;

/**
 * Checks that the schema cannot express: references between sections, unique ids and keys,
 * timezones. Appends every problem found to `problems`. Runs on a config the schema rejected too,
 * with the rejected values taken out, and checks whatever is left (undefined: nothing to check).
 */
export function crossCheck(config: Checkable | undefined, problems: ConfigProblem[]): void {
  if (config === undefined) return;
  checkUniqueIds('suppliers', config.suppliers ?? [], problems);
  checkUniqueIds('destinations', config.destinations ?? [], problems);
  checkUniqueIds('routes', config.routes ?? [], problems);
  checkApiKeys(config, problems);
  checkDestinations(config, problems);
  checkPings(config, problems);
  checkRoutes(config, problems);
  checkAuctions(config, problems);
  const reportsZone = config.reports?.timezone;
  if (reportsZone !== undefined && !isTimeZone(reportsZone)) problems.push({ path: 'reports.timezone', message: `unknown timezone "${reportsZone}"` });
}

/** Any section's items, as far as ids go. */
type WithIds = ReadonlyArray<{ readonly id?: string | undefined } | undefined>;

function checkUniqueIds(section: string, items: WithIds, problems: ConfigProblem[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (item?.id === undefined) return;
    const first = seen.get(item.id);
    if (first !== undefined) {
      problems.push({ path: `${section}[${i}].id`, message: `duplicate id "${item.id}" (also ${section}[${first}])` });
    } else {
      seen.set(item.id, i);
    }
  });
}

function checkApiKeys(config: Checkable, problems: ConfigProblem[]): void {
  const owners = new Map<string, string>();
  (config.suppliers ?? []).forEach((supplier, i) => {
    if (supplier === undefined) return;
    // A supplier whose id the schema rejected is still a key's owner: name it by its place.
    const owner = supplier.id === undefined ? `suppliers[${i}]` : `supplier "${supplier.id}"`;
    (supplier.apiKeys ?? []).forEach((key, k) => {
      if (key === undefined) return;
      const path = `suppliers[${i}].apiKeys[${k}]`;
      if (key.startsWith('sha256:') && !/^sha256:[0-9a-fA-F]{64}$/.test(key)) {
        problems.push({ path, message: 'a hashed key must be "sha256:" followed by 64 hex digits' });
        return;
      }
      // Compare digests: a plain key and its `sha256:` form (in either hex case) are the same key.
      const digest = keyDigest(key).toString('hex');
      const firstOwner = owners.get(digest);
      if (firstOwner !== undefined) problems.push({ path, message: `API key is also used by ${firstOwner}` });
      else owners.set(digest, owner);
    });
    if (supplier.postbackUrl !== undefined && !isUrl(supplier.postbackUrl)) {
      problems.push({ path: `suppliers[${i}].postbackUrl`, message: 'not a valid URL' });
    }
    const { rateLimit } = supplier;
    if (rateLimit?.burst !== undefined && rateLimit.perSecond !== undefined && rateLimit.burst < rateLimit.perSecond) {
      problems.push({ path: `suppliers[${i}].rateLimit.burst`, message: 'burst must be at least perSecond' });
    }
  });
}

function checkDestinations(config: Checkable, problems: ConfigProblem[]): void {
  (config.destinations ?? []).forEach((destination, i) => {
    if (destination === undefined) return;
    const base = `destinations[${i}]`;
    // `{{field}}` templates may stand in the URL; they are filled per lead, so check the shape only.
    if (destination.url !== undefined && !isTemplateUrl(destination.url)) {
      problems.push({ path: `${base}.url`, message: 'not a valid URL' });
    }
    const timezone = destination.schedule?.timezone;
    if (timezone !== undefined && !isTimeZone(timezone)) {
      problems.push({ path: `${base}.schedule.timezone`, message: `unknown timezone "${timezone}"` });
    }
    for (const side of ['accept', 'reject'] as const) {
      const rule = destination.response?.[side];
      if (rule) checkResponseRule(rule, `${base}.response.${side}`, problems);
    }
  });
}

type ResponseRule = NonNullable<NonNullable<NonNullable<Checkable['destinations']>[number]>['response']>['accept'];

/** A reply rule (a destination's accept or reject, a ping's accept): a path needs exactly one test, and a test its path; `matches` is RE2. */
function checkResponseRule(rule: NonNullable<ResponseRule>, path: string, problems: ConfigProblem[]): void {
  const tests = ['equals', 'in', 'matches'].filter((k) => k in rule);
  // `in`, not `!== undefined`: a path the schema rejected is still written, so not "missing".
  const hasPath = 'path' in rule;
  if (hasPath && tests.length === 0) problems.push({ path, message: 'a path needs one of equals, in or matches' });
  if (tests.length > 0 && !hasPath) problems.push({ path, message: `${tests.join(', ')} needs a path` });
  if (tests.length > 1) problems.push({ path, message: 'use only one of equals, in or matches' });
  const regexError = rule.matches === undefined ? undefined : re2Problem(rule.matches);
  if (regexError !== undefined) problems.push({ path: `${path}.matches`, message: `not a valid RE2 regular expression (${regexError})` });
}

function checkRoutes(config: Checkable, problems: ConfigProblem[]): void {
  // A section the schema rejected as a whole leaves nothing to compare with: no "unknown" for each reference to it.
  const known = knownIds(config.destinations);
  const knownSuppliers = knownIds(config.suppliers);
  (config.routes ?? []).forEach((route, r) => {
    if (route === undefined) return;
    const base = `routes[${r}]`;
    // A strategy the schema rejected is no strategy at all: then nothing can be said about weights.
    const strategy = 'strategy' in route ? route.strategy : 'priority';
    const listed = new Set<string>();
    const check = (id: string | undefined, path: string, once: boolean): void => {
      if (id === undefined || known === undefined) return;
      if (!known.has(id)) problems.push({ path, message: `unknown destination "${id}"` });
      else if (once && listed.has(id)) problems.push({ path, message: `destination "${id}" is listed twice in this route` });
      listed.add(id);
    };
    (route.destinations ?? []).forEach((entry, d) => {
      if (entry === undefined) return;
      const path = joinPath(`${base}.destinations[${d}]`, 'id');
      check(entry.id, path, true);
      if (entry.weight !== undefined && strategy !== undefined && strategy !== 'weighted') {
        problems.push({
          path: `${base}.destinations[${d}].weight`,
          message: `weight is only used by strategy "weighted" (this route's strategy is "${strategy}")`,
        });
      }
    });
    // A fallback may repeat one of the route's destinations: it is then simply not tried twice.
    (route.fallback ?? []).forEach((id, f) => check(id, `${base}.fallback[${f}]`, false));
    (route.match?.supplier ?? []).forEach((id, s) => {
      if (id === undefined || knownSuppliers === undefined) return;
      if (!knownSuppliers.has(id)) problems.push({ path: `${base}.match.supplier[${s}]`, message: `unknown supplier "${id}"` });
    });
  });
}

/** Contact data is never in a ping (contract §9): `packages/routing` leaves it out of every ping it builds, and a template naming it is refused here. */
const NAMED = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** A ping's URL is a URL; its templates name no contact field nor an omitted one; its accept rule is whole. */
function checkPings(config: Checkable, problems: ConfigProblem[]): void {
  (config.destinations ?? []).forEach((destination, i) => {
    const ping = destination?.ping;
    if (!ping) return;
    const base = `destinations[${i}].ping`;
    if (ping.url !== undefined && !isTemplateUrl(ping.url)) problems.push({ path: `${base}.url`, message: 'not a valid URL' });
    const hidden = new Set([...CONTACT_FIELDS, ...(ping.omit ?? []).filter((f): f is string => f !== undefined)]);
    const templates: Array<[string, string | undefined]> = [
      [`${base}.url`, ping.url],
      ...Object.entries(ping.headers ?? {}).map(([name, t]): [string, string | undefined] => [`${base}.headers.${name}`, t]),
      ...Object.entries(ping.body ?? {}).map(([name, t]): [string, string | undefined] => [`${base}.body.${name}`, t]),
    ];
    for (const [path, template] of templates) {
      for (const [, name] of (template ?? '').matchAll(NAMED)) {
        if (name !== undefined && hidden.has(name)) problems.push({ path, message: `{{${name}}} is ${CONTACT_FIELDS.includes(name) ? 'contact data' : 'in ping.omit'}: never sent in a ping` });
      }
    }
    const rule = ping.response?.accept;
    if (rule) checkResponseRule(rule, `${base}.response.accept`, problems);
  });
}

/** An auction's destinations are bidders (they have a `ping`); `auction` belongs to an auction route only. */
function checkAuctions(config: Checkable, problems: ConfigProblem[]): void {
  const bidders = new Set((config.destinations ?? []).filter((d) => d?.ping !== undefined).map((d) => d?.id));
  const known = knownIds(config.destinations);
  (config.routes ?? []).forEach((route, r) => {
    if (route === undefined) return;
    const strategy = 'strategy' in route ? route.strategy : 'priority';
    if (route.auction !== undefined && strategy !== undefined && strategy !== 'auction') {
      problems.push({ path: `routes[${r}].auction`, message: `auction is only used by strategy "auction" (this route's strategy is "${strategy}")` });
    }
    if (strategy !== 'auction') return;
    const auction = route.auction;
    if (auction?.mode === 'shared' && auction.maxSales === undefined) {
      problems.push({ path: `routes[${r}].auction.maxSales`, message: 'a shared auction needs maxSales (2 or more): how many buyers may buy each lead' });
    }
    if (auction?.maxSales !== undefined && auction.mode !== 'shared') {
      problems.push({ path: `routes[${r}].auction.maxSales`, message: 'maxSales is for mode "shared": an exclusive auction sells each lead once' });
    }
    (route.destinations ?? []).forEach((entry, d) => {
      const id = entry?.id;
      if (id === undefined || known === undefined || !known.has(id) || bidders.has(id)) return;
      problems.push({ path: `routes[${r}].destinations[${d}].id`, message: `destination "${id}" has no ping: an auction's destinations are bidders (a direct post belongs in fallback)` });
    });
    // A bidder that said no (or nothing) in time is out: it must not get the lead as a direct post.
    (route.fallback ?? []).forEach((id, f) => {
      if (id !== undefined && bidders.has(id)) problems.push({ path: `routes[${r}].fallback[${f}]`, message: `destination "${id}" is a bidder: an auction's fallback is for direct posts` });
    });
  });
}

/** The ids a section defines, or undefined when the section itself is gone (missing or rejected). */
function knownIds(items: WithIds | undefined): Set<string> | undefined {
  if (items === undefined) return undefined;
  return new Set(items.flatMap((item) => (item?.id === undefined ? [] : [item.id])));
}

/** A URL once its `{{field}}` templates are filled (per lead: only the shape can be checked here). */
function isTemplateUrl(value: string): boolean {
  return isUrl(value.replace(/\{\{[^}]*\}\}/g, 'x'));
}

function isUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/**
 * `matches` runs on buyers' replies with RE2 (re2js, linear time: no pattern can freeze a worker on
 * a hostile reply), so it must be RE2 syntax: no backreferences or lookaround. Why not, or undefined.
 */
function re2Problem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^error parsing regexp: /, '');
  }
}
