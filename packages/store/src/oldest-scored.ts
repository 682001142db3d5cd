/**
 * Merges per-bucket `WITHSCORES` answers (one ZRANGEBYSCORE per lead bucket: on a Redis Cluster the
 * buckets live in different slots) into the `limit` members of lowest score, the oldest, with their
 * scores.
 */
export function oldestScored(perBucket: readonly string[][], limit: number): Array<[string, number]> {
  const scored: Array<[string, number]> = [];
  for (const flat of perBucket) for (let i = 0; i + 1 < flat.length; i += 2) scored.push([flat[i] as string, Number(flat[i + 1])]);
  scored.sort((a, b) => a[1] - b[1]);
  return scored.slice(0, limit);
}
