import type { ErrorObject } from 'ajv';

/**
 * A config with every value the schema rejected taken out: each property optional all the way
 * down, each list item possibly missing. The cross-checks read this, so that one broken value does
 * not hide the problems elsewhere, and the compiler makes them check before they use a value.
 */
export type Pruned<T> = T extends readonly (infer Item)[]
  ? ReadonlyArray<Pruned<Item> | undefined>
  : T extends object
    ? { readonly [K in keyof T]?: Pruned<T[K]> | undefined }
    : T;

/**
 * A copy of `value` in which every value at the instance path of a schema error is `undefined`.
 * The key of a rejected value stays (its value is undefined), so checks about which keys are
 * written (`equals` without `path`) do not report a key the schema has already complained about
 * as missing. Two kinds of error name a parent but only concern one of its keys, so the parent is
 * kept: `additionalProperties` (only the unknown key's value goes) and `required` (nothing to take out).
 */
export function pruneRejected<T>(value: unknown, errors: readonly ErrorObject[]): Pruned<T> | undefined {
  const rejected = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'required') continue;
    if (error.keyword === 'additionalProperties') {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      rejected.add(`${error.instancePath}/${escapePointer(key)}`);
    } else {
      rejected.add(error.instancePath);
    }
  }
  // The walk only keeps what the schema accepted, so the result has the pruned shape.
  return copyWithout(value, '', rejected) as Pruned<T> | undefined;
}

function copyWithout(value: unknown, pointer: string, rejected: ReadonlySet<string>): unknown {
  if (rejected.has(pointer)) return undefined;
  if (Array.isArray(value)) return value.map((item: unknown, i) => copyWithout(item, `${pointer}/${i}`, rejected));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // An explicit `undefined` (only a caller's object can hold one) is a key not written; a
      // rejected value below becomes undefined but keeps its key, which is written.
      if (item !== undefined) out[key] = copyWithout(item, `${pointer}/${escapePointer(key)}`, rejected);
    }
    return out;
  }
  return value;
}

/** JSON pointer escaping (RFC 6901), as Ajv writes `instancePath`. */
function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
