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

/**
 * Final transition of a lead that a destination accepted; only from `queued`, so a lead is sold at
 * most once whatever the interleaving. KEYS: 1 lead, 2 events.
 * ARGV: 1 destination, 2 payout, 3 soldAt ms, 4 event JSON, 5 channel, 6 publish JSON, 7 route
 * Returns 'ok' or the status that prevented the sale.
 */
export const MARK_SOLD = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' then return status or 'missing' end
redis.call('HSET', KEYS[1], 'status', 'delivered', 'destination', ARGV[1], 'payout', ARGV[2], 'soldAt', ARGV[3], 'route', ARGV[7])
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
`;

/** KEYS: 1 lead, 2 events. ARGV: 1 reason, 2 event JSON, 3 channel, 4 publish JSON, 5 route. Returns 'ok' or the current status. */
export const MARK_UNSOLD = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' then return status or 'missing' end
redis.call('HSET', KEYS[1], 'status', 'unsold', 'reason', ARGV[1], 'route', ARGV[5])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 'ok'
`;

/**
 * Records the decision taken after one step of a lead's delivery chain, unless one was recorded
 * already (a crashed worker's job running again): the first decision always wins, so a re-run can
 * never send the lead down a second path. KEYS: 1 lead. ARGV: 1 field, 2 decision. Returns the decision in force.
 */
export const DECIDE = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then return previous end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
`;

/**
 * Reserves one sold-lead slot of a destination's caps for a lead, before it is sent: refused when
 * any cap is reached. Idempotent per lead and destination (a re-run does not count twice); the
 * period keys are remembered on the lead so the release decrements exactly what was incremented.
 * KEYS: 1 lead, 2 hourly, 3 daily, 4 total. ARGV: 1 destination, 2-4 caps (-1 = none), 5 hour ttl ms, 6 day ttl ms
 */
export const CAP_RESERVE = `
local field = 'cap:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 1 then return 1 end
for i = 2, 4 do
  local cap = tonumber(ARGV[i])
  if cap >= 0 and (tonumber(redis.call('GET', KEYS[i])) or 0) >= cap then return 0 end
end
local held = {}
for i = 2, 4 do
  if tonumber(ARGV[i]) >= 0 then
    redis.call('INCR', KEYS[i])
    if i == 2 then redis.call('PEXPIRE', KEYS[i], ARGV[5]) elseif i == 3 then redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
    table.insert(held, KEYS[i])
  end
end
redis.call('HSET', KEYS[1], field, table.concat(held, '|'))
return 1
`;

/** Gives back a reservation that did not end in a sale. KEYS: 1 lead. ARGV: 1 destination. */
export const CAP_RELEASE = `
local field = 'cap:' .. ARGV[1]
local held = redis.call('HGET', KEYS[1], field)
if not held then return 0 end
for key in string.gmatch(held, '[^|]+') do
  if (tonumber(redis.call('GET', key)) or 0) > 0 then redis.call('DECR', key) end
end
redis.call('HDEL', KEYS[1], field)
return 1
`;

/**
 * Circuit breaker state shared by every worker. KEYS: 1 circuit hash, 2 probe lock.
 * ARGV: 1 now ms, 2 probe lock ms. Returns 'closed', 'probe' (half-open: this caller may try) or 'open'.
 */
export const CIRCUIT_CHECK = `
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'openUntil'))
if not openUntil then return 'closed' end
if tonumber(ARGV[1]) < openUntil then return 'open' end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 'probe' end
return 'open'
`;

/**
 * KEYS: 1 circuit hash, 2 probe lock. ARGV: 1 'ok' or 'fail', 2 now ms, 3 threshold, 4 cooldown ms.
 * Returns 1 when this call opened the circuit, -1 when it closed it, 0 otherwise.
 */
export const CIRCUIT_RECORD = `
if ARGV[1] == 'ok' then
  local wasOpen = redis.call('HEXISTS', KEYS[1], 'openUntil')
  redis.call('DEL', KEYS[1], KEYS[2])
  if wasOpen == 1 then return -1 end
  return 0
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local openUntil = redis.call('HGET', KEYS[1], 'openUntil')
if openUntil or failures >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'openUntil', tonumber(ARGV[2]) + tonumber(ARGV[4]), 'failures', 0)
  redis.call('DEL', KEYS[2])
  if openUntil then return 0 end
  return 1
end
return 0
`;
