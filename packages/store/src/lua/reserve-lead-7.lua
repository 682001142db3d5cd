--[[
  Stores a new lead atomically, unless its idempotency key or its dedupe fields were seen before:
  record, first event, dedupe mark, idempotency answer and intake outbox entry, or nothing at all.

  KEYS[1] the idempotency key ('' when the request has none)
  KEYS[2] the dedupe key ('' when dedupe does not apply)
  KEYS[3] the lead's state hash
  KEYS[4] the lead's events list
  KEYS[5] the intake's outbox (sorted set by arrival): stored, not yet picked up by a worker
  KEYS[6] the lead's data (its fields as JSON)
  KEYS[7] the ledger's change stream of the lead's bucket ('' when the install runs no ledger)

  ARGV[1] JSON:
    leadId, createdAt (ms, as text), retentionMs, idempotencyTtlMs, dedupeTtlMs,
    data (the lead's fields, JSON text), supplier, quality (text), phoneNational, source, geo
      (source and geo are kept in the state hash for postback metrics and learning),
    receivedEvent (JSON text), acceptedAnswer (JSON text),
    ledgerRecord (JSON text: the lead for the ledger, with the digests search matches on),
    duplicateAnswer (JSON text with __DUP__ where the original lead's id goes)

  Returns {'accepted'} | {'replay', answer JSON} | {'duplicate', original lead id}
]]
--- @include "includes/events"
--- @include "includes/ledger"
local idempotencyKey, dedupeKey, leadKey, eventsKey, outboxKey, dataKey, ledgerKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local args = cjson.decode(ARGV[1])

if idempotencyKey ~= '' then
  local previous = redis.call('GET', idempotencyKey)
  if previous then return {'replay', previous} end
end
if dedupeKey ~= '' then
  local original = redis.call('GET', dedupeKey)
  if original then
    if idempotencyKey ~= '' then
      local answer = string.gsub(args.duplicateAnswer, '__DUP__', original)
      redis.call('SET', idempotencyKey, answer, 'PX', args.idempotencyTtlMs)
    end
    return {'duplicate', original}
  end
  redis.call('SET', dedupeKey, args.leadId, 'PX', args.dedupeTtlMs)
end
redis.call('HSET', leadKey, 'supplier', args.supplier, 'status', 'queued', 'quality', args.quality,
  'createdAt', args.createdAt, 'phoneNational', args.phoneNational, 'source', args.source, 'geo', args.geo, 'seq', 0)
redis.call('PEXPIRE', leadKey, args.retentionMs)
redis.call('SET', dataKey, args.data, 'PX', args.retentionMs)
local seq = pushEvent(leadKey, eventsKey, args.receivedEvent)
redis.call('PEXPIRE', eventsKey, args.retentionMs)
appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.receivedEvent, args.ledgerRecord)
redis.call('ZADD', outboxKey, args.createdAt, args.leadId)
if idempotencyKey ~= '' then redis.call('SET', idempotencyKey, args.acceptedAnswer, 'PX', args.idempotencyTtlMs) end
return {'accepted'}
