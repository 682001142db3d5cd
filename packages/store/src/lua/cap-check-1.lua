--[[
  What a destination's cap hold is to its lead, in the lead's slot (contract §12): asked by the
  cap sweeper of a hold left unsettled for a while, and by a chooser whose decision lost (another
  run decided first). 'held': the lead's marker names it (a try is on; for the sweeper, only while
  the lead is still being delivered). 'sold': the marker names it and the lead was sold to that
  destination, so the hold is the sale's slot.
  Otherwise the hold is an orphan (reserved, then the chooser crashed or lost; the lead's marker
  went with a release or a compaction; or the lead ended with the marker of a try a crash left):
  its token is fenced first, so no decision can take it any more, and it may then be given back
  ('release'). A lead that has expired keeps nothing: 'release', and nothing is written (a write
  would bring back an empty hash).

  KEYS[1] the lead's state hash

  ARGV[1] JSON: destination, hold, sweep (the sweeper asks: a final lead's marker is a leftover)

  Returns 'held', 'sold' or 'release'.
]]
--- @include "includes/cap-hold"
local leadKey = KEYS[1]
local args = cjson.decode(ARGV[1])

if redis.call('EXISTS', leadKey) == 0 then return 'release' end
local marker = 'cap:' .. args.destination
if redis.call('HGET', leadKey, marker) == args.hold then
  -- The marker names this hold: if the lead was sold there, the hold is that sale's slot.
  if redis.call('HGET', leadKey, 'destination') == args.destination or redis.call('HEXISTS', leadKey, 'sale:' .. args.destination) == 1 then return 'sold' end
  local status = redis.call('HGET', leadKey, 'status')
  local delivering = status == 'queued' or (status == 'delivered' and (tonumber(redis.call('HGET', leadKey, 'lanes')) or 0) > 0)
  if delivering or not args.sweep then return 'held' end
  redis.call('HDEL', leadKey, marker)
end
-- No marker names it (a sale's marker names its own hold, and stays): an orphan, even of a lead
-- sold there, whose hold this is not (a run reserved it again after the sale took the first).
redis.call('HSET', leadKey, 'fence:' .. holdToken(args.hold), '1')
return 'release'
