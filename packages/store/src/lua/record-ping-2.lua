--[[
  The circuit verdict of one bidder's ping (contract §9): a bidder whose pings keep failing opens
  its circuit as a failing post does (includes/circuit.lua), so new auctions stop pinging it until
  its cooldown ends; then one auction's ping probes it (the probe lock, which
  PingCircuits.claimProbes takes), and an answer closes it again. A bidder is posted to only after
  its ping, so one circuit serves both. One call per bidder: each circuit lives in its
  destination's slot (contract §12).

  KEYS[1] the bidder's circuit hash
  KEYS[2] its circuit probe lock

  ARGV[1] JSON: nowMs, verdict ('ok', 'fail', 'untouched'), threshold, cooldownMs

  Returns the circuit change (1 opened, -1 closed, 0 none).
]]
--- @include "includes/circuit"
local args = cjson.decode(ARGV[1])
return updateCircuit(KEYS[1], KEYS[2], args.verdict, args.nowMs, args.threshold, args.cooldownMs)
