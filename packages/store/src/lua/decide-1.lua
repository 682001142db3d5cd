--[[
  Records the next destination of a lead's chain after one step, in the lead's slot: the second
  half of choosing, after the destination's cap-reserve-7.lua gave the lead a hold there (contract
  §12). First writer wins: a step re-run after a crash gets the first decision back, so a lead can
  never go down two paths (the caller then settles the hold it reserved for nothing). A step
  marked 'next' (record-attempt-4.lua: the try ended and the chain moves on) still has its choice
  to make. A hold the cap sweeper fenced (it found no decision naming it) can no longer be taken:
  'fenced', and the caller reserves again. Taking a hold writes its marker `cap:<destination>` =
  the hold, which a sale needs and which tells the sweeper the hold is in use.

  A shared lead (contract §9, `shared`: its hash has `lanes`) runs several such chains (lanes) at
  once over one plan. A lane takes only a candidate no lane has taken (no step of the lead records
  it), so each buyer gets the lead once and each lane sells at most once: at most `maxSales` sales.
  A lane that finds none left ends: `lanes` counts down, and the lead ends 'unsold' only when its
  last lane ends with no sale; otherwise the lane's step records 'ended'.

  KEYS[1] the lead's state hash

  ARGV[1] JSON: stepField (`next:<step>`), shared, and candidate ({index, destination, hold}), or
    no candidate when none is left

  Returns {decision, taken (1 when this call took the candidate's hold, else 0)}: decision is
  'd:<index>' (the candidate), the decision already in force, 'fenced', 'taken' (a shared lead's
  lane took it), 'unsold', or 'ended' (a shared lead's lane, not the lead).
]]
--- @include "includes/cap-hold"
local leadKey = KEYS[1]
local args = cjson.decode(ARGV[1])

local previous = redis.call('HGET', leadKey, args.stepField)
if previous and previous ~= 'next' then return {previous, 0} end

local candidate = args.candidate
if candidate then
  if redis.call('HEXISTS', leadKey, 'fence:' .. holdToken(candidate.hold)) == 1 then return {'fenced', 0} end
  if args.shared then
    -- A shared lead's candidates taken by a lane: any step's recorded choice.
    local hash = redis.call('HGETALL', leadKey)
    for i = 1, #hash, 2 do
      if string.sub(hash[i], 1, 5) == 'next:' and hash[i + 1] == 'd:' .. candidate.index then return {'taken', 0} end
    end
  end
  local chosen = 'd:' .. candidate.index
  redis.call('HSET', leadKey, 'cap:' .. candidate.destination, candidate.hold, args.stepField, chosen)
  return {chosen, 1}
end

local chosen = 'unsold'
if args.shared then
  local left = redis.call('HINCRBY', leadKey, 'lanes', -1)
  if left > 0 or redis.call('HEXISTS', leadKey, 'soldAt') == 1 then chosen = 'ended' end
end
redis.call('HSET', leadKey, args.stepField, chosen)
return {chosen, 0}
