--[[
  Chooses the next destination of a lead's chain after one step, in one round trip. Each candidate
  has passed the checks that need no shared state; here its circuit must not be open and each of
  its caps must have room. The first that passes gets a cap slot reserved (once per lead and
  destination) and becomes the decision. A slot is counted in all three periods, capped or not:
  an operator's override that caps a period later (contract §11) counts the slots taken before it
  in that period (a slot is the sale's once sold, and given back when the try does not sell). The decision is recorded under the step's field, first
  writer wins: a step re-run after a crash gets the first decision back and reserves nothing, so a
  lead can never go down two paths. A step marked 'next' (by RECORD_ATTEMPT: the try ended and the
  chain moves on) still has its choice to make.

  A shared lead (contract §9, `shared`: its hash has `lanes`) runs several such chains (lanes) at
  once over one plan. A lane takes only a candidate no lane has taken (no step of the lead records
  it), so each buyer gets the lead once and each lane sells at most once: at most `maxSales` sales.
  A lane that finds none left ends: `lanes` counts down, and the lead ends 'unsold' only when its
  last lane ends with no sale; otherwise the lane's step records 'ended'.

  KEYS[1] the lead's state hash
  then 5 keys per candidate, in the order of ARGV's candidates:
    circuit hash, circuit probe lock, hourly, daily and total cap counters

  ARGV[1] JSON:
    stepField (the lead-hash field of the step: `next:<step>`), nowMs, probeLockMs, hourTtlMs,
    dayTtlMs, candidates: [{index, destination, caps: {hourly, daily, total} (-1 = none)}], shared

  Returns 'd:<index>' (the candidate chosen), 'unsold', or 'ended' (a shared lead's lane, not the lead).
]]
--- @include "includes/circuit"
local leadKey = KEYS[1]
local args = cjson.decode(ARGV[1])

local previous = redis.call('HGET', leadKey, args.stepField)
if previous and previous ~= 'next' then return previous end

-- A shared lead's candidates taken by a lane (any step's recorded choice): no other lane's.
local taken = {}
if args.shared then
  local hash = redis.call('HGETALL', leadKey)
  for i = 1, #hash, 2 do
    if string.sub(hash[i], 1, 5) == 'next:' then
      local index = string.match(hash[i + 1], '^d:(%d+)$')
      if index then taken[tonumber(index)] = true end
    end
  end
end

local chosen = 'unsold'
for c, candidate in ipairs(args.candidates) do
  local base = 2 + (c - 1) * 5
  local circuitKey, probeKey = KEYS[base], KEYS[base + 1]
  local capKeys = {KEYS[base + 2], KEYS[base + 3], KEYS[base + 4]}
  local capLimits = {candidate.caps.hourly, candidate.caps.daily, candidate.caps.total}
  local capTtls = {args.hourTtlMs, args.dayTtlMs, nil}
  local holdField = 'cap:' .. candidate.destination
  local held = redis.call('HEXISTS', leadKey, holdField) == 1
  local open, openUntil = circuitOpenAt(circuitKey, args.nowMs)
  local ok = not open and not taken[candidate.index]
  if ok and not held then
    for i = 1, 3 do
      if capLimits[i] >= 0 and (tonumber(redis.call('GET', capKeys[i])) or 0) >= capLimits[i] then ok = false end
    end
  end
  -- Half-open circuit: only one lead at a time may probe it.
  if ok and openUntil and not redis.call('SET', probeKey, '1', 'NX', 'PX', args.probeLockMs) then ok = false end
  if ok then
    if not held then
      -- The hold names the periods only (cap-release.lua rebuilds the keys): a short value.
      local periods = {}
      for i = 1, 3 do
        redis.call('INCR', capKeys[i])
        if capTtls[i] then redis.call('PEXPIRE', capKeys[i], capTtls[i]) end
        periods[i] = string.match(capKeys[i], ':([hd]:[^:]+)$') or string.match(capKeys[i], ':(t)$') or ''
      end
      redis.call('HSET', leadKey, holdField, table.concat(periods, '|'))
    end
    chosen = 'd:' .. candidate.index
    break
  end
end
if chosen == 'unsold' and args.shared then
  local left = redis.call('HINCRBY', leadKey, 'lanes', -1)
  if left > 0 or redis.call('HEXISTS', leadKey, 'soldAt') == 1 then chosen = 'ended' end
end
redis.call('HSET', leadKey, args.stepField, chosen)
return chosen
