--[[
  Gives back a lead's cap slot at a destination: a reservation that did not end in a sale (the
  lead was sold elsewhere or ended while a job of this destination was left over from a crash).

  KEYS[1] the lead's state hash

  ARGV[1] JSON: destination

  Returns 1.
]]
--- @include "includes/cap-release"
local args = cjson.decode(ARGV[1])
releaseCapSlot(KEYS[1], args.destination)
return 1
