--[[
  An idempotency key's two steps (contract §3): the claim a request makes before storing its lead,
  and the answer it leaves after. The key holds either the stored answer of the request that used
  it first, or a claim `c|<leadId>|<untilMs>` of a request storing its lead now. Used by
  idempotency-claim-1.lua and idempotency-answer-1.lua (the key in a slot of its own), and by
  store-lead-idempotent-7.lua (the key in the lead's slot: one step).
]]

-- Returns {'replay', answer JSON} | {'claimed'} | {'busy', value} | {'stale', value}. Times are
-- this Redis node's (TIME), the one clock every request for this key sees.
local function claimIdempotencyKey(key, leadId, leaseMs, ttlMs, takeOver)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local value = redis.call('GET', key)
  if value and string.sub(value, 1, 2) ~= 'c|' then return {'replay', value} end
  -- This request's own claim: the claim ran before and its reply was lost (a client resends a
  -- command whose connection dropped).
  if value and string.sub(value, 1, 3 + #leadId) == 'c|' .. leadId .. '|' then return {'claimed'} end
  if value and value ~= takeOver then
    local untilMs = tonumber(string.match(value, '|(%d+)$')) or 0
    if now < untilMs then return {'busy', value} end
    return {'stale', value}
  end
  redis.call('SET', key, 'c|' .. leadId .. '|' .. (now + leaseMs), 'PX', ttlMs)
  return {'claimed'}
end

-- Only while the key still holds `leadId`'s claim (or nothing: the claim outlived its TTL).
-- Returns {'stored'} | {'replay', the answer in force} | {'lost'} (another claim is in force)
local function answerIdempotencyKey(key, leadId, answer, ttlMs)
  local value = redis.call('GET', key)
  if not value or string.sub(value, 1, 3 + #leadId) == 'c|' .. leadId .. '|' then
    redis.call('SET', key, answer, 'PX', ttlMs)
    return {'stored'}
  end
  if string.sub(value, 1, 2) ~= 'c|' then return {'replay', value} end
  return {'lost'}
end
