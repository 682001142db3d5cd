import { joinPath, type ConfigProblem } from './errors.js';
import { keyDigest } from './resolve.js';
import type { LeadRouterConfig } from './schema.js';

/**
 * Checks that the schema cannot express: references between sections, unique ids and keys,
 * timezones. Appends every problem found to `problems`.
 */
export function crossCheck(config: LeadRouterConfig, problems: ConfigProblem[]): void {
  checkUniqueIds('suppliers', config.suppliers, problems);
  checkUniqueIds('destinations', config.destinations, problems);
  checkUniqueIds('routes', config.routes, problems);
  checkApiKeys(config, problems);
  checkDestinations(config, problems);
  checkRoutes(config, problems);
}

function checkUniqueIds(section: string, items: ReadonlyArray<{ id: string }>, problems: ConfigProblem[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const first = seen.get(item.id);
    if (first !== undefined) {
      problems.push({ path: `${section}[${i}].id`, message: `duplicate id "${item.id}" (also ${section}[${first}])` });
    } else {
      seen.set(item.id, i);
    }
  });
}

function checkApiKeys(config: LeadRouterConfig, problems: ConfigProblem[]): void {
  const owners = new Map<string, string>();
  config.suppliers.forEach((supplier, i) => {
    supplier.apiKeys.forEach((key, k) => {
      const path = `suppliers[${i}].apiKeys[${k}]`;
      if (key.startsWith('sha256:') && !/^sha256:[0-9a-fA-F]{64}$/.test(key)) {
        problems.push({ path, message: 'a hashed key must be "sha256:" followed by 64 hex digits' });
        return;
      }
      // Compare digests: a plain key and its `sha256:` form (in either hex case) are the same key.
      const digest = keyDigest(key).toString('hex');
      const owner = owners.get(digest);
      if (owner !== undefined) problems.push({ path, message: `API key is also used by supplier "${owner}"` });
      else owners.set(digest, supplier.id);
    });
    if (supplier.postbackUrl !== undefined && !isUrl(supplier.postbackUrl)) {
      problems.push({ path: `suppliers[${i}].postbackUrl`, message: 'not a valid URL' });
    }
    const { rateLimit } = supplier;
    if (rateLimit?.burst !== undefined && rateLimit.burst < rateLimit.perSecond) {
      problems.push({ path: `suppliers[${i}].rateLimit.burst`, message: 'burst must be at least perSecond' });
    }
  });
}

function checkDestinations(config: LeadRouterConfig, problems: ConfigProblem[]): void {
  config.destinations.forEach((destination, i) => {
    const base = `destinations[${i}]`;
    // `{{field}}` templates may stand in the URL; they are filled per lead, so check the shape only.
    if (!isUrl(destination.url.replace(/\{\{[^}]*\}\}/g, 'x'))) {
      problems.push({ path: `${base}.url`, message: 'not a valid URL' });
    }
    const timezone = destination.schedule?.timezone;
    if (timezone !== undefined && !isTimeZone(timezone)) {
      problems.push({ path: `${base}.schedule.timezone`, message: `unknown timezone "${timezone}"` });
    }
    for (const side of ['accept', 'reject'] as const) {
      const rule = destination.response?.[side];
      if (!rule) continue;
      const tests = ['equals', 'in', 'matches'].filter((k) => k in rule);
      if (rule.path !== undefined && tests.length === 0) {
        problems.push({ path: `${base}.response.${side}`, message: 'a path needs one of equals, in or matches' });
      }
      if (tests.length > 0 && rule.path === undefined) {
        problems.push({ path: `${base}.response.${side}`, message: `${tests.join(', ')} needs a path` });
      }
      if (tests.length > 1) {
        problems.push({ path: `${base}.response.${side}`, message: 'use only one of equals, in or matches' });
      }
      if (rule.matches !== undefined && !isRegExp(rule.matches)) {
        problems.push({ path: `${base}.response.${side}.matches`, message: 'not a valid regular expression' });
      }
    }
  });
}

function checkRoutes(config: LeadRouterConfig, problems: ConfigProblem[]): void {
  const known = new Set(config.destinations.map((d) => d.id));
  const knownSuppliers = new Set(config.suppliers.map((s) => s.id));
  config.routes.forEach((route, r) => {
    const base = `routes[${r}]`;
    const strategy = route.strategy ?? 'priority';
    const listed = new Set<string>();
    const check = (id: string, path: string, once: boolean): void => {
      if (!known.has(id)) problems.push({ path, message: `unknown destination "${id}"` });
      else if (once && listed.has(id)) problems.push({ path, message: `destination "${id}" is listed twice in this route` });
      listed.add(id);
    };
    route.destinations.forEach((entry, d) => {
      const path = joinPath(`${base}.destinations[${d}]`, 'id');
      check(entry.id, path, true);
      if (entry.weight !== undefined && strategy !== 'weighted') {
        problems.push({
          path: `${base}.destinations[${d}].weight`,
          message: `weight is only used by strategy "weighted" (this route's strategy is "${strategy}")`,
        });
      }
    });
    // A fallback may repeat one of the route's destinations: it is then simply not tried twice.
    (route.fallback ?? []).forEach((id, f) => check(id, `${base}.fallback[${f}]`, false));
    (route.match?.supplier ?? []).forEach((id, s) => {
      if (!knownSuppliers.has(id)) problems.push({ path: `${base}.match.supplier[${s}]`, message: `unknown supplier "${id}"` });
    });
  });
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

function isRegExp(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}
