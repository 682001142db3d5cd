--[[
  Stores the answer about a lead under the idempotency key that lead's request claimed
  (idempotency-claim-1.lua), in the key's slot: only while the key still holds that lead's claim
  (or nothing: the claim outlived its TTL). The answer is written by the request itself, or by one
  that found a stale claim's lead stored after all. A request whose claim was taken over answers
  with what the key holds now.

  KEYS[1] the idempotency key

  ARGV[1] JSON: leadId (whose claim this answer replaces), answer (JSON text), ttlMs

  Returns {'stored'} | {'replay', the answer in force} | {'lost'} (another claim is in force)
]]
--- @include "includes/idempotency"
local args = cjson.decode(ARGV[1])
return answerIdempotencyKey(KEYS[1], args.leadId, args.answer, args.ttlMs)
