/**
 * "Did you mean" for a misspelled config key. A few lines of Levenshtein rather than a dependency:
 * the candidates are the dozen keys of one schema object, so speed does not matter.
 */

/** The known key closest to `word`, if it is close enough to be a likely typo of it. */
export function closestKey(word: string, candidates: readonly string[]): string | undefined {
  // Case and `_` are the commonest slips (`timeoutMS`, `api_keys`), so they cost nothing here.
  const normal = (key: string): string => key.toLowerCase().replace(/_/g, '');
  const wanted = normal(word);
  // One slip per three letters (at least one): `timeout` -> `timeoutMs`, but not `colour` -> `format`.
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: { key: string; distance: number } | undefined;
  for (const key of candidates) {
    const distance = editDistance(wanted, normal(key));
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  // One row of the classic table at a time: row[j] is the distance between a[0..i) and b[0..j).
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      next.push(Math.min(substitution, (row[j] as number) + 1, (next[j - 1] as number) + 1));
    }
    row = next;
  }
  return row[b.length] as number;
}
