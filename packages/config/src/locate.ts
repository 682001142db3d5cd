import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/** The parts of `routes[1].destinations[0].id`: `routes`, 1, `destinations`, 0, `id`. */
function pathSteps(path: string): Array<string | number> {
  return [...path.matchAll(/\[([0-9]+)\]|([^.[\]]+)/g)].map((m) => (m[1] !== undefined ? Number(m[1]) : (m[2] as string)));
}

/**
 * The 1-based line where the value at `path` is written in the parsed file, or, when the path does
 * not exist there (a required key that is missing), the line of its nearest ancestor that does.
 * Undefined for the root: a problem with the whole file has no one line.
 */
export function lineOfPath(doc: Document, lines: LineCounter, path: string): number | undefined {
  const steps = pathSteps(path);
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (let i = 0; i < steps.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const found = childAt(node, steps, i);
    if (found === undefined) break;
    ({ node, offset } = found);
    i += found.consumed - 1;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

interface Child {
  node: unknown;
  /** Where the child is written: a map entry's key, a list item's start. */
  offset: number | undefined;
  /** How many path steps it took: a key containing dots takes one per part. */
  consumed: number;
}

function childAt(node: unknown, steps: ReadonlyArray<string | number>, from: number): Child | undefined {
  const step = steps[from] as string | number;
  if (isSeq(node) && typeof step === 'number') {
    const item: unknown = node.items[step];
    return item === undefined ? undefined : { node: item, offset: rangeStart(item), consumed: 1 };
  }
  if (!isMap(node)) return undefined;
  // Paths join keys with dots, so a key such as `applicant.name` (a body mapping) is several steps:
  // try the longest run of steps first that names one key.
  for (let last = steps.length - 1; last >= from; last--) {
    const key = steps.slice(from, last + 1).join('.');
    const pair = node.items.find((p) => isPair(p) && keyText(p.key) === key);
    if (pair) return { node: pair.value, offset: rangeStart(pair.key), consumed: last - from + 1 };
  }
  return undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node === null || typeof node !== 'object' || !('range' in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range?.[0];
}
