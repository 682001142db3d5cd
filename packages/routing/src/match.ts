import type { RouteConfig } from '@leadrouter/config';
import type { ScalarValue } from '@leadrouter/lead';

/** What routing needs to know of a lead: no PII beyond what rules may test. */
export interface RoutableLead {
  id: string;
  supplier: string;
  geo: string;
  source: string;
  quality: number;
  /** Standard and extra fields, for `match.fields`. */
  fields: Readonly<Record<string, ScalarValue | undefined>>;
}

/** Routes are tried in config order; the first whose every `match` key holds takes the lead. */
export function matchRoute<Route extends RouteConfig>(routes: readonly Route[], lead: RoutableLead): Route | undefined {
  return routes.find((route) => routeMatches(route, lead));
}

export function routeMatches(route: RouteConfig, lead: RoutableLead): boolean {
  const match = route.match ?? {};
  if (match.geo && !match.geo.some((g) => g.toUpperCase() === lead.geo)) return false;
  if (match.source) {
    const source = lead.source.toLowerCase();
    if (!match.source.some((s) => s.toLowerCase() === source)) return false;
  }
  if (match.supplier && !match.supplier.includes(lead.supplier)) return false;
  if (match.minQuality !== undefined && lead.quality < match.minQuality) return false;
  for (const [name, wanted] of Object.entries(match.fields ?? {})) {
    const value = lead.fields[name];
    if (value === undefined) return false;
    const options = Array.isArray(wanted) ? wanted : [wanted];
    if (!options.some((option) => sameValue(option, value))) return false;
  }
  return true;
}

/** Field values compare as strings, case-insensitively: form posts send every value as a string. */
function sameValue(wanted: ScalarValue, actual: ScalarValue): boolean {
  return String(wanted).toLowerCase() === String(actual).toLowerCase();
}
