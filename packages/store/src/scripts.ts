/**
 * Lua scripts: each runs atomically inside Redis, so a lead is either fully stored (record, first
 * event, dedupe mark, idempotency answer, outbox entry) or not at all.
 */

/**
 * KEYS: 1 idempotency key ('' = none), 2 dedupe key ('' = none), 3 lead, 4 lead events, 5 outbox zset, 6 lead data
 * ARGV: 1 lead id, 2 idempotency ttl ms, 3 dedupe ttl ms, 4 retention ms, 5 createdAt ms,
 *       6 lead JSON, 7 supplier, 8 quality, 9 phone national, 10 received event JSON,
 *       11 accepted answer JSON, 12 duplicate answer JSON template (with __DUP__ for the original id),
 *       13 source and 14 geo (kept in the state hash for postback metrics and learning)
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
redis.call('HSET', KEYS[3], 'supplier', ARGV[7], 'status', 'queued', 'quality', ARGV[8],
  'createdAt', ARGV[5], 'phoneNational', ARGV[9], 'source', ARGV[13], 'geo', ARGV[14])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('SET', KEYS[6], ARGV[6], 'PX', ARGV[4])
redis.call('RPUSH', KEYS[4], ARGV[10])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
if idemKey ~= '' then redis.call('SET', idemKey, ARGV[11], 'PX', ARGV[2]) end
return {'accepted'}
`;

/** Lua that decrements the cap counters a lead holds at a destination and forgets the hold. */
function CAP_RELEASE_LUA(lead: string, destination: string): string {
  return `
local held = redis.call('HGET', ${lead}, 'cap:' .. ${destination})
if held then
  for key in string.gmatch(held, '[^|]+') do
    if (tonumber(redis.call('GET', key)) or 0) > 0 then redis.call('DECR', key) end
  end
  redis.call('HDEL', ${lead}, 'cap:' .. ${destination})
end
`;
}

/**
 * Lua that records what one answered try teaches best_revenue (KEYS: lead hash, the destination's
 * learnt figures):
 * - the Beta counts (overall and for the lead's geo, older evidence fading by `keep` per new
 *   observation), from the lead's first answer only: a lead other buyers turned down is not a
 *   fair sample of a destination. A first answer that sold marks the lead `learnt`, so that its
 *   postbacks can correct it;
 * - the learnt price, from every sale (an average fading by `priceKeep` per sale).
 * Numbers go to Redis as strings: Redis would truncate a Lua float to an integer.
 */
function LEARN_LUA(lead: string, key: string, geo: string, success: string, keep: string, payout: string, priceKeep: string): string {
  return `
do
  local success = ${success}
  -- 'answered' survives an admin redelivery (REQUEUE) on purpose: a replayed lead was shopped already.
  if redis.call('HINCRBY', ${lead}, 'answered', 1) == 1 then
    local keep = tonumber(${keep})
    for _, prefix in ipairs({'', 'g:' .. ${geo} .. ':'}) do
      local a = tonumber(redis.call('HGET', ${key}, prefix .. 'a')) or 1
      local b = tonumber(redis.call('HGET', ${key}, prefix .. 'b')) or 1
      a = 1 + (a - 1) * keep
      b = 1 + (b - 1) * keep
      if success then a = a + 1 else b = b + 1 end
      redis.call('HSET', ${key}, prefix .. 'a', string.format('%.6f', a), prefix .. 'b', string.format('%.6f', b))
    end
    if success then redis.call('HSET', ${lead}, 'learnt', '1') end
  end
  if success then
    local payout = tonumber(${payout})
    local price = tonumber(redis.call('HGET', ${key}, 'price'))
    if price then price = price * tonumber(${priceKeep}) + payout * (1 - tonumber(${priceKeep})) else price = payout end
    redis.call('HSET', ${key}, 'price', string.format('%.6f', price))
  end
end
`;
}

/**
 * Lua that corrects what a sale taught (postbacks): a learnt sale the buyer later rejects or returns
 * moves from the success count to the failure count (overall and for its geo), and back when a
 * rejection is withdrawn, so the posterior estimates "accepts and keeps" without counting the lead
 * twice. A payout correction moves the learnt price as that sale's share of it would have.
 */
function LEARN_CORRECTION_LUA(lead: string, key: string, geo: string, before: string, after: string, oldPayout: string, newPayout: string, priceKeep: string): string {
  return `
do
  local lost = {rejected = true, returned = true}
  local shift = 0
  if lost[${after}] and not lost[${before}] then shift = 1 elseif lost[${before}] and not lost[${after}] then shift = -1 end
  if shift ~= 0 and redis.call('HGET', ${lead}, 'learnt') == '1' then
    for i, prefix in ipairs({'', 'g:' .. ${geo} .. ':'}) do
      local a = tonumber(redis.call('HGET', ${key}, prefix .. 'a')) or 1
      local b = tonumber(redis.call('HGET', ${key}, prefix .. 'b')) or 1
      -- Move one observation (or what there is above the prior's 1) from one count to the other,
      -- so the total stays what the evidence was. What a loss moved is kept on the lead, so that
      -- withdrawing it moves back that much, not more.
      local field = 'learnMoved' .. i
      local moved
      if shift > 0 then
        moved = math.min(1, a - 1)
        redis.call('HSET', ${lead}, field, string.format('%.6f', moved))
      else
        moved = -math.min(tonumber(redis.call('HGET', ${lead}, field)) or 1, b - 1)
        redis.call('HDEL', ${lead}, field)
      end
      a = a - moved
      b = b + moved
      redis.call('HSET', ${key}, prefix .. 'a', string.format('%.6f', a), prefix .. 'b', string.format('%.6f', b))
    end
  end
  -- A payout change that comes with a rejection or a return is not a price: the loss is counted above.
  local delta = tonumber(${newPayout}) - tonumber(${oldPayout})
  local price = tonumber(redis.call('HGET', ${key}, 'price'))
  if delta ~= 0 and price and not lost[${after}] and not lost[${before}] then
    price = math.max(0, price + delta * (1 - tonumber(${priceKeep})))
    redis.call('HSET', ${key}, 'price', string.format('%.6f', price))
  end
end
`;
}

/**
 * Fixes a lead's delivery plan (route and ordered candidates) unless one exists, and records the
 * `routed` event when this call set it. KEYS: 1 lead, 2 events. ARGV: 1 plan JSON, 2 event JSON.
 * Returns the plan in force.
 */
export const PLAN = `
local previous = redis.call('HGET', KEYS[1], 'plan')
if previous then return previous end
redis.call('HSET', KEYS[1], 'plan', ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
return ARGV[1]
`;

/**
 * Chooses the next destination of a lead's chain after one step, in one round trip: for each
 * candidate (already past the checks that need no shared state) the circuit must not be open and
 * every cap must have room; the first that passes gets a cap slot reserved (once per lead and
 * destination) and becomes the decision. The decision is recorded on the lead under the step's
 * field, first writer wins: a step re-run after a crash gets the first decision back and reserves
 * nothing, so a lead can never go down two paths.
 * KEYS: 1 lead, then 5 per candidate: circuit, probe lock, hourly, daily, total cap counters.
 * ARGV: 1 step field, 2 now ms, 3 probe lock ms, 4 hour ttl ms, 5 day ttl ms,
 *       then 5 per candidate: index, destination, hourly cap, daily cap, total cap (-1 = none).
 * Returns 'd:<index>' or 'unsold'.
 */
export const ADVANCE = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
-- 'next' is RECORD_ATTEMPT's mark that the try ended and the chain moves on: the choice is still to make.
if previous and previous ~= 'next' then return previous end
local now = tonumber(ARGV[2])
local chosen = 'unsold'
for c = 0, (#KEYS - 1) / 5 - 1 do
  local k, a = 1 + c * 5, 5 + c * 5
  local heldField = 'cap:' .. ARGV[a + 2]
  local held = redis.call('HEXISTS', KEYS[1], heldField) == 1
  local ok = true
  local openUntil = tonumber(redis.call('HGET', KEYS[k + 1], 'openUntil'))
  if openUntil and now < openUntil then ok = false end
  if ok and not held then
    for i = 0, 2 do
      local cap = tonumber(ARGV[a + 3 + i])
      if cap >= 0 and (tonumber(redis.call('GET', KEYS[k + 3 + i])) or 0) >= cap then ok = false end
    end
  end
  -- Half-open circuit: only one lead at a time may probe it.
  if ok and openUntil and not redis.call('SET', KEYS[k + 2], '1', 'NX', 'PX', ARGV[3]) then ok = false end
  if ok then
    if not held then
      local keys = {}
      for i = 0, 2 do
        if tonumber(ARGV[a + 3 + i]) >= 0 then
          local key = KEYS[k + 3 + i]
          redis.call('INCR', key)
          if i == 0 then redis.call('PEXPIRE', key, ARGV[4]) elseif i == 1 then redis.call('PEXPIRE', key, ARGV[5]) end
          table.insert(keys, key)
        end
      end
      if #keys > 0 then redis.call('HSET', KEYS[1], heldField, table.concat(keys, '|')) end
    end
    chosen = 'd:' .. ARGV[a + 1]
    break
  end
end
redis.call('HSET', KEYS[1], ARGV[1], chosen)
return chosen
`;

/**
 * Records one delivery try and everything that follows from it, in one round trip: the `attempt`
 * event, the destination's circuit (5 errors in a row open it; a reply closes it), and then
 * - 'sold': the lead becomes `delivered` if it is still `queued` (so it is sold at most once), with
 *   its `delivered` event and a message on the final channel;
 * - 'retry': the decision to retry this destination is recorded for the step (first writer wins);
 * - 'next': the step is marked 'next' (tried, chain moves on) and the lead's cap slot at this
 *   destination is given back.
 * It also counts the destination's sold and rejected leads of the day (admin view).
 * Accepted and rejected tries are also learnt (best_revenue).
 * KEYS: 1 lead, 2 events, 3 circuit, 4 probe lock, 5 the destination's counters of the day, 6 its learnt acceptance.
 * ARGV: 1 attempt event JSON, 2 'ok', 'fail' or 'untouched' (circuit), 3 now ms, 4 threshold, 5 cooldown ms,
 *       6 action, 7 destination, 8 payout, 9 delivered event JSON, 10 channel, 11 publish JSON,
 *       12 route, 13 step field, 14 the try's outcome (accepted, rejected, error), 15 lead geo,
 *       16 learning keep factor, 17 learnt price keep factor.
 * Returns {circuit change (1 opened, -1 closed, 0), result}: for 'sold' 'ok' or the status that
 * prevented the sale; for 'retry' the decision in force; for 'next' 'released'.
 */
export const RECORD_ATTEMPT = `
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local change = 0
if ARGV[2] == 'ok' then
  if redis.call('HEXISTS', KEYS[3], 'openUntil') == 1 then change = -1 end
  redis.call('DEL', KEYS[3], KEYS[4])
elseif ARGV[2] == 'untouched' then
  -- The request never reached the buyer: no verdict on its health; let another lead probe.
  redis.call('DEL', KEYS[4])
else
  local failures = redis.call('HINCRBY', KEYS[3], 'failures', 1)
  local openUntil = redis.call('HGET', KEYS[3], 'openUntil')
  if openUntil or failures >= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[3], 'openUntil', tonumber(ARGV[3]) + tonumber(ARGV[5]), 'failures', 0)
    redis.call('DEL', KEYS[4])
    if not openUntil then change = 1 end
  end
end
if ARGV[14] == 'accepted' or ARGV[14] == 'rejected' then
` + LEARN_LUA('KEYS[1]', 'KEYS[6]', 'ARGV[15]', "ARGV[14] == 'accepted'", 'ARGV[16]', 'ARGV[8]', 'ARGV[17]') + `
end
local action = ARGV[6]
if ARGV[14] == 'rejected' then
  redis.call('HINCRBY', KEYS[5], 'rejected', 1)
  redis.call('PEXPIRE', KEYS[5], 259200000)
end
if action == 'sold' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if status ~= 'queued' then return {change, status or 'missing'} end
  redis.call('HSET', KEYS[1], 'status', 'delivered', 'destination', ARGV[7], 'payout', ARGV[8], 'soldAt', ARGV[3], 'route', ARGV[12])
  redis.call('HINCRBY', KEYS[5], 'sold', 1)
  redis.call('PEXPIRE', KEYS[5], 259200000)
  redis.call('RPUSH', KEYS[2], ARGV[9])
  redis.call('PUBLISH', ARGV[10], ARGV[11])
  return {change, 'ok'}
end
if action == 'retry' then
  local previous = redis.call('HGET', KEYS[1], ARGV[13])
  if previous then return {change, previous} end
  redis.call('HSET', KEYS[1], ARGV[13], 'retry')
  return {change, 'retry'}
end
-- 'next': the step is marked tried before its cap slot is given back, so a re-run of this try after
-- a crash (before ADVANCE records where the chain goes) resumes the chain and never sends the lead
-- to this buyer again, now without a cap slot.
redis.call('HSETNX', KEYS[1], ARGV[13], 'next')
` + CAP_RELEASE_LUA('KEYS[1]', 'ARGV[7]') + `
return {change, 'released'}
`;

/**
 * KEYS: 1 lead, 2 events, 3 unsold index. ARGV: 1 reason, 2 event JSON, 3 channel, 4 publish JSON,
 * 5 route, 6 lead id. Returns 'ok' or the current status.
 */
export const MARK_UNSOLD = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' then return status or 'missing' end
redis.call('HSET', KEYS[1], 'status', 'unsold', 'reason', ARGV[1], 'route', ARGV[5])
redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'createdAt'), ARGV[6])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 'ok'
`;

/** Gives back a lead's cap slot at a destination (a reservation that did not end in a sale). KEYS: 1 lead. ARGV: 1 destination. */
export const CAP_RELEASE = CAP_RELEASE_LUA('KEYS[1]', 'ARGV[1]') + `
return 1
`;

/**
 * Applies a destination's postback to a lead (contract §5), atomically, so concurrent postbacks for
 * one lead never lose an update, and corrects the destination's learnt figures (best_revenue).
 * An applied postback also puts the supplier notification it calls for in the notification outbox,
 * in the same step, so that it is sent even when the postback process dies before queueing it.
 * KEYS: 1 lead, 2 events, 3 seen event ids (set), 4 the destination's learnt figures, 5 the
 *       notification outbox (sorted set by time).
 * ARGV: 1 destination, 2 new status, 3 payout ('' = none), 4 event id ('' = none), 5 event JSON
 *       template (with __RESULT__ for the outcome), 6 retention ms, 7 learnt price keep factor,
 *       8 the outbox entry of this postback's notification (scored by Redis's clock, which the
 *       workers' sweep reads too), 9 how many refused postbacks a lead's history records at most.
 * Returns {result, status in force, old payout, new payout, lead source, lead supplier} where result is 'not_found',
 * 'pending' (the lead is still queued, with this destination in its plan: not sold yet), 'duplicate',
 * 'invalid_transition' or 'applied'.
 */
export const POSTBACK = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'not_found', '', '', '', '', ''} end
if redis.call('HGET', KEYS[1], 'destination') ~= ARGV[1] then
  -- Still queued and this destination is in its plan: the sale this postback is about may be a
  -- moment from being recorded.
  local plan = redis.call('HGET', KEYS[1], 'plan')
  if status == 'queued' and plan then
    local ok, decoded = pcall(cjson.decode, plan)
    if ok and type(decoded) == 'table' and type(decoded.candidates) == 'table' then
      for _, candidate in ipairs(decoded.candidates) do
        if candidate == ARGV[1] then return {'pending', status, '', '', '', ''} end
      end
    end
  end
  return {'not_found', '', '', '', '', ''}
end
local payout = redis.call('HGET', KEYS[1], 'payout') or '0'
local source = redis.call('HGET', KEYS[1], 'source') or ''
local supplier = redis.call('HGET', KEYS[1], 'supplier') or ''
-- Refused postbacks (repeats, disallowed changes) are recorded up to a bound per lead, so a buyer
-- that repeats itself cannot grow the lead's history without limit; applied ones always are.
local function record(result)
  if result ~= 'applied' and redis.call('HINCRBY', KEYS[1], 'refusedPostbacks', 1) > tonumber(ARGV[9]) then return end
  redis.call('RPUSH', KEYS[2], (string.gsub(ARGV[5], '__RESULT__', result)))
end
if ARGV[4] ~= '' and redis.call('SISMEMBER', KEYS[3], ARGV[4]) == 1 then
  record('duplicate')
  return {'duplicate', status, payout, payout, source, supplier}
end
local new = ARGV[2]
if new == status then
  record('duplicate')
  return {'duplicate', status, payout, payout, source, supplier}
end
local allowed = {
  delivered = {accepted = true, rejected = true, converted = true, returned = true},
  accepted = {converted = true, rejected = true, returned = true},
  rejected = {accepted = true},
  converted = {returned = true},
}
if not (allowed[status] and allowed[status][new]) then
  record('invalid_transition')
  return {'invalid_transition', status, payout, payout, source, supplier}
end
local newPayout = payout
if ARGV[3] ~= '' and new ~= 'returned' then newPayout = ARGV[3] end
redis.call('HSET', KEYS[1], 'status', new, 'payout', newPayout)
if ARGV[4] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
local geo = redis.call('HGET', KEYS[1], 'geo') or ''
` + LEARN_CORRECTION_LUA('KEYS[1]', 'KEYS[4]', 'geo', 'status', 'new', 'payout', 'newPayout', 'ARGV[7]') + `
record('applied')
local now = redis.call('TIME')
redis.call('ZADD', KEYS[5], tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000), ARGV[8])
return {'applied', new, payout, newPayout, source, supplier}
`;

/**
 * Records a postback refused as invalid on the lead, when the lead is the destination's, up to the
 * bound on refused postbacks per lead (shared with POSTBACK's repeats and disallowed changes).
 * KEYS: 1 lead, 2 events. ARGV: 1 destination, 2 event JSON, 3 bound.
 * Returns the lead's source, or nil when the lead is not this destination's.
 */
export const RECORD_REFUSED_POSTBACK = `
if redis.call('HGET', KEYS[1], 'destination') ~= ARGV[1] then return false end
if redis.call('HINCRBY', KEYS[1], 'refusedPostbacks', 1) <= tonumber(ARGV[3]) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
return redis.call('HGET', KEYS[1], 'source') or ''
`;

/**
 * Admin redelivery: an `unsold` lead becomes `queued` again for a new round of routing (its plan
 * and recorded decisions are cleared, its round number goes up), only from `unsold`, so a lead that
 * was sold can never be sold again. KEYS: 1 lead, 2 events, 3 unsold index, 4 outbox.
 * ARGV: 1 lead id, 2 now ms, 3 event JSON. Returns {'ok', round} or {status}.
 */
export const REQUEUE = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'unsold' then return {status or 'missing'} end
local fields = redis.call('HKEYS', KEYS[1])
for _, field in ipairs(fields) do
  if field == 'plan' or field == 'reason' or field == 'route' or string.sub(field, 1, 5) == 'next:' then
    redis.call('HDEL', KEYS[1], field)
  end
end
redis.call('HSET', KEYS[1], 'status', 'queued')
local round = redis.call('HINCRBY', KEYS[1], 'round', 1)
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[3])
return {'ok', round}
`;
