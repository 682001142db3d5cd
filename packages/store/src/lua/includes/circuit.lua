--[[
  The circuit breaker of a destination, in one place. `verdict` is what a try tells of the
  destination's health:
    'ok'        it answered (accept or reject): the circuit closes, failures are forgotten;
    'fail'      its error or timeout: one more failure; the threshold, or a failed probe of a
                half-open circuit, opens it for `cooldownMs`;
    'untouched' the request never reached it (LeadRouter's own fault): no verdict, but the probe
                lock is let go so another lead can probe.
  Returns 1 when this call opened the circuit, -1 when it closed it, 0 otherwise.
]]
local function updateCircuit(circuitKey, probeKey, verdict, nowMs, threshold, cooldownMs)
  if verdict == 'ok' then
    local wasOpen = redis.call('HEXISTS', circuitKey, 'openUntil') == 1
    redis.call('DEL', circuitKey, probeKey)
    if wasOpen then return -1 end
    return 0
  end
  if verdict == 'untouched' then
    redis.call('DEL', probeKey)
    return 0
  end
  local failures = redis.call('HINCRBY', circuitKey, 'failures', 1)
  local openUntil = redis.call('HGET', circuitKey, 'openUntil')
  if openUntil or failures >= threshold then
    redis.call('HSET', circuitKey, 'openUntil', nowMs + cooldownMs, 'failures', 0)
    redis.call('DEL', probeKey)
    if not openUntil then return 1 end
  end
  return 0
end

--[[ Whether the circuit is open at `nowMs` (a half-open circuit, past its cooldown, is not). ]]
local function circuitOpenAt(circuitKey, nowMs)
  local openUntil = tonumber(redis.call('HGET', circuitKey, 'openUntil'))
  return openUntil ~= nil and nowMs < openUntil, openUntil
end
