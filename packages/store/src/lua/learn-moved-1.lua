--[[
  Writes back on a lead how much a loss moved in its buyer's learnt counts (includes/learn.lua,
  postbackCorrection: the destination's half answered it), so that withdrawing the loss moves back
  exactly that. Only while the lead still records the loss: a withdrawal may have come first.

  KEYS[1] the lead's state hash

  ARGV[1] JSON: marks ('' or ':<destination>'), moved ([overall, geo], as text)

  Returns 1 when written.
]]
local args = cjson.decode(ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'learnMoved1' .. args.marks) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'learnMoved1' .. args.marks, args.moved[1], 'learnMoved2' .. args.marks, args.moved[2])
return 1
