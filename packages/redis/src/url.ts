/**
 * A Redis URL fit for a log line: the password (in the userinfo or as a `password` query option,
 * both of which ioredis reads) is replaced by `***`. A URL that does not parse is not echoed at
 * all, since where its password starts cannot be known.
 */
export function maskRedisUrl(url: string): string {
  // A cluster's address (REDIS_CLUSTER_NODES) is host:port pairs only: nothing to mask.
  if (url.startsWith('redis-cluster://')) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(a REDIS_URL that is not a URL)';
  }
  if (parsed.password) parsed.password = '***';
  if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
  return parsed.toString();
}
