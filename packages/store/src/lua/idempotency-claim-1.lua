--[[
  Claims an idempotency key for a request (contract §3, §12), in the key's own slot: the first
  step of storing a lead that came with an Idempotency-Key. The key holds either the stored answer
  of the request that used it first (replayed), or a claim `c|<leadId>|<untilMs>` of a request
  storing its lead now. A live claim of another request means that request is on it ('busy': the
  caller waits for its answer). A claim past its time was left by a request that stalled or died:
  `takeOver` names it, and the caller may take it over only after fencing that lead id in its own
  slot (lead-fence-1.lua), which returns the lead when it was stored after all. Times are this
  Redis node's (TIME), the one clock every request for this key sees.

  KEYS[1] the idempotency key

  ARGV[1] JSON: leadId (this request's), leaseMs, ttlMs, takeOver (a stale claim's value, or absent)

  Returns {'replay', answer JSON} | {'claimed'} | {'busy', value} | {'stale', value}
]]
local key = KEYS[1]
local args = cjson.decode(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local value = redis.call('GET', key)
if value and string.sub(value, 1, 2) ~= 'c|' then return {'replay', value} end
-- This request's own claim: the claim ran before and its reply was lost (a client resends a command
-- whose connection dropped).
if value and string.sub(value, 1, 3 + #args.leadId) == 'c|' .. args.leadId .. '|' then return {'claimed'} end
if value and value ~= args.takeOver then
  local untilMs = tonumber(string.match(value, '|(%d+)$')) or 0
  if now < untilMs then return {'busy', value} end
  return {'stale', value}
end
redis.call('SET', key, 'c|' .. args.leadId .. '|' .. (now + args.leaseMs), 'PX', args.ttlMs)
return {'claimed'}
