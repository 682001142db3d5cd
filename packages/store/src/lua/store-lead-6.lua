--[[
  Stores a new lead atomically in its lead's slot, unless its dedupe fields were seen before:
  record, first event, dedupe mark and intake outbox entry, or nothing at all. A deduped lead's
  id carries its dedupe digest's bucket, so the dedupe key shares the lead's slot (contract §12).
  An idempotency key in a slot of its own (a Redis Cluster) has its claim and answer as steps of
  their own (idempotency-claim-1.lua, idempotency-answer-1.lua) around this one; on one Redis the
  three are one step, store-lead-idempotent-7.lua. A claim taken over from a
  request that stalled fences that request's lead id first (lead-fence-1.lua), so this step
  refuses it: one lead per idempotency key.

  KEYS[1] the dedupe key (used only when `dedupe`; any key of the lead's slot otherwise)
  KEYS[2] the lead's state hash
  KEYS[3] the lead's events list
  KEYS[4] the intake's outbox of the lead's bucket (sorted set by arrival): stored, not yet picked up by a worker
  KEYS[5] the lead's data (its fields as JSON)
  KEYS[6] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)

  ARGV[1] JSON:
    leadId, createdAt (ms, as text), retentionMs, dedupe, dedupeTtlMs,
    data (the lead's fields, JSON text), supplier, quality (text), phoneNational, source, geo
      (source and geo are kept in the state hash for postback metrics and learning),
    receivedEvent (JSON text), ledgerRecord (JSON text: the lead for the ledger, with the digests
    search matches on), ledgerOn

  Returns {'accepted'} | {'duplicate', original lead id} | {'fenced'} (the id was fenced, or exists)
]]
--- @include "includes/store-lead"
local args = cjson.decode(ARGV[1])
return storeLead(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], args.ledgerOn and KEYS[6] or '', args)
