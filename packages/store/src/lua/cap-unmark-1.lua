--[[
  A lead gives up its cap hold at a destination, in the lead's slot (contract §12): a reservation
  that did not end in a sale (the lead was sold elsewhere or ended while a job of this destination
  was left over from a crash, or the destination was paused). The marker goes and the hold's token
  is fenced, so nothing can take it again; the caller then gives the hold back in the
  destination's slot (cap-settle-5.lua). A crash in between leaves the hold to the cap sweeper.

  KEYS[1] the lead's state hash

  ARGV[1] JSON: destination

  Returns the hold given up, or '' when the lead held none there.
]]
--- @include "includes/cap-hold"
local leadKey = KEYS[1]
local args = cjson.decode(ARGV[1])

return giveUpMarker(leadKey, args.destination) or ''
