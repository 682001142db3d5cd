--[[
  The circuit verdicts of one auction's pings (contract §9), in one round trip: a bidder whose
  pings keep failing opens its circuit as a failing post does (includes/circuit.lua), so new
  auctions stop pinging it until its cooldown ends; then one auction's ping probes it (the probe
  lock, which PingCircuits.claimProbes takes), and an answer closes it again. A bidder is posted to only
  after its ping, so one circuit serves both.

  KEYS[1] the first bidder's circuit hash, KEYS[2] its circuit probe lock; then the same 2 keys
  for each further bidder, in the order of ARGV's bidders

  ARGV[1] JSON: nowMs, bidders: [{destination, verdict ('ok', 'fail', 'untouched'), threshold, cooldownMs}]

  Returns the circuit change of each bidder, in order (1 opened, -1 closed, 0 none).
]]
--- @include "includes/circuit"
local args = cjson.decode(ARGV[1])
local changes = {}
for i, bidder in ipairs(args.bidders) do
  changes[i] = updateCircuit(KEYS[2 * i - 1], KEYS[2 * i], bidder.verdict, args.nowMs, bidder.threshold, bidder.cooldownMs)
end
return changes
