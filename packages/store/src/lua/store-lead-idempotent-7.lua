--[[
  Claims an idempotency key, stores the lead and answers under the key, in one step: used on one
  Redis (on a Redis Cluster the key has a slot of its own and the three are the steps
  idempotency-claim-1.lua, store-lead-6.lua and idempotency-answer-1.lua). One round trip per lead instead of three; the same replies, so the
  caller's handling of a busy or stale claim (wait, or fence the stalled lead and take over) is
  the split steps'. A claim that is not this request's leaves the store undone.

  KEYS[1] the dedupe key (used only when `dedupe`; any key of the lead's slot otherwise)
  KEYS[2] the lead's state hash
  KEYS[3] the lead's events list
  KEYS[4] the intake's outbox of the lead's bucket
  KEYS[5] the lead's data (its fields as JSON)
  KEYS[6] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)
  KEYS[7] the idempotency key

  ARGV[1] JSON: store-lead-6.lua's fields, and
    leaseMs, idempotencyTtlMs, takeOver (a stale claim's value, or absent): the claim's
    acceptedAnswer (JSON text): the answer left under the key when the lead is stored
    duplicateAnswer ([before, after]): the answer left when it is a duplicate, the original's id between

  Returns {'accepted'} | {'duplicate', original lead id} | {'fenced'} | or the claim's own reply when
  it is not this request's: {'replay', answer JSON} | {'busy', value} | {'stale', value}
]]
--- @include "includes/idempotency"
--- @include "includes/store-lead"
local args = cjson.decode(ARGV[1])
local idempotencyKey = KEYS[7]

local claim = claimIdempotencyKey(idempotencyKey, args.leadId, args.leaseMs, args.idempotencyTtlMs, args.takeOver)
if claim[1] ~= 'claimed' then return claim end
local stored = storeLead(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], args.ledgerOn and KEYS[6] or '', args)
if stored[1] == 'accepted' then
  answerIdempotencyKey(idempotencyKey, args.leadId, args.acceptedAnswer, args.idempotencyTtlMs)
elseif stored[1] == 'duplicate' then
  answerIdempotencyKey(idempotencyKey, args.leadId, args.duplicateAnswer[1] .. stored[2] .. args.duplicateAnswer[2], args.idempotencyTtlMs)
end
-- 'fenced' cannot follow a claim made in this same step for a fresh id; it is answered like the
-- split steps' (the caller refuses the lead), and the claim is left to lapse.
return stored
