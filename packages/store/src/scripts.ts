/**
 * Lua scripts: each runs atomically inside Redis, so a lead is either fully stored (record, first
 * event, dedupe mark, idempotency answer, outbox entry) or not at all.
 */

/**
 * KEYS: 1 idempotency key ('' = none), 2 dedupe key ('' = none), 3 lead, 4 lead events, 5 outbox zset
 * ARGV: 1 lead id, 2 idempotency ttl ms, 3 dedupe ttl ms, 4 retention ms, 5 createdAt ms,
 *       6 lead JSON, 7 supplier, 8 quality, 9 phone national, 10 received event JSON,
 *       11 accepted answer JSON, 12 duplicate answer JSON template (with __DUP__ for the original id)
 * Returns: {'accepted'} | {'replay', answerJson} | {'duplicate', originalId}
 */
export const RESERVE_LEAD = `
local idemKey, dedupeKey = KEYS[1], KEYS[2]
if idemKey ~= '' then
  local previous = redis.call('GET', idemKey)
  if previous then return {'replay', previous} end
end
if dedupeKey ~= '' then
  local original = redis.call('GET', dedupeKey)
  if original then
    if idemKey ~= '' then
      local answer = string.gsub(ARGV[12], '__DUP__', original)
      redis.call('SET', idemKey, answer, 'PX', ARGV[2])
    end
    return {'duplicate', original}
  end
  redis.call('SET', dedupeKey, ARGV[1], 'PX', ARGV[3])
end
redis.call('HSET', KEYS[3], 'lead', ARGV[6], 'supplier', ARGV[7], 'status', 'queued', 'quality', ARGV[8],
  'createdAt', ARGV[5], 'phoneNational', ARGV[9])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('RPUSH', KEYS[4], ARGV[10])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
if idemKey ~= '' then redis.call('SET', idemKey, ARGV[11], 'PX', ARGV[2]) end
return {'accepted'}
`;
