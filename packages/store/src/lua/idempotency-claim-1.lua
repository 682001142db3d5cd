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
--- @include "includes/idempotency"
local args = cjson.decode(ARGV[1])
return claimIdempotencyKey(KEYS[1], args.leadId, args.leaseMs, args.ttlMs, args.takeOver)
