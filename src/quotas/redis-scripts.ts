/**
 * The Lua scripts behind the Redis quota store. Redis runs a script without interleaving any
 * other command, so check-then-add across every counter of every scope is one atomic step no
 * matter how many Keel replicas call it: two replicas can never both pass a check that only
 * one of them fits under. The arithmetic mirrors `sliding-window.ts`.
 */

/**
 * KEYS: per check, the counter key(s): a window check has two (current, previous bucket), a
 *       budget check one.
 * ARGV: [1] number of checks, then six values per check:
 *       type ("w" window | "b" budget), max, cost, p1, p2, ttl_ms
 *       window: p1 = ms elapsed in the current bucket, p2 = window length in ms
 *       budget: p1 = ms until the budget period ends, p2 unused
 * Returns {1} when reserved, or {0, check_number (1-based), retry_after_ms} for the refusing
 * check with the longest wait; nothing is added then.
 */
export const RESERVE_SCRIPT = `
local function exceeds(used, cost, max)
  return used >= max or used + cost > max
end

local function window_retry(previous, current, cost, max, elapsed, window)
  if cost > max then return window end
  local room = max - cost - current
  if room >= 0 and previous > 0 then
    local at = window - (room * window) / previous
    if at < window then return math.max(1, math.ceil(at - elapsed)) end
  end
  local next_at = 0
  if current > 0 then next_at = window - ((max - cost) * window) / current end
  if next_at < 0 then next_at = 0 end
  return math.max(1, math.ceil(window - elapsed + next_at))
end

local checks = tonumber(ARGV[1])
local worst, worst_retry = 0, -1
local k, a = 1, 2
for c = 1, checks do
  local kind = ARGV[a]
  local max, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local p1, p2 = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local retry = -1
  if kind == "w" then
    local current = tonumber(redis.call("GET", KEYS[k]) or "0")
    local previous = tonumber(redis.call("GET", KEYS[k + 1]) or "0")
    local used = (previous * (p2 - p1)) / p2 + current
    if exceeds(used, cost, max) then
      retry = window_retry(previous, current, cost, max, p1, p2)
    end
    k = k + 2
  else
    local spent = tonumber(redis.call("GET", KEYS[k]) or "0")
    if exceeds(spent, cost, max) then retry = p1 end
    k = k + 1
  end
  if retry > worst_retry then
    worst, worst_retry = c, retry
  end
  a = a + 6
end
if worst > 0 then return {0, worst, worst_retry} end

k, a = 1, 2
for c = 1, checks do
  redis.call("INCRBY", KEYS[k], ARGV[a + 2])
  redis.call("PEXPIRE", KEYS[k], ARGV[a + 5])
  if ARGV[a] == "w" then k = k + 2 else k = k + 1 end
  a = a + 6
end
return {1}
`;

/**
 * KEYS: the token counters, then the spend counters of one reservation.
 * ARGV: [1] how many of KEYS are token counters, [2] token delta, [3] spend delta.
 * Adds the delta to counters that still exist (an expired window stays expired), never
 * taking one below zero, and leaves their expiry as it is.
 */
export const SETTLE_SCRIPT = `
local token_keys = tonumber(ARGV[1])
for i = 1, #KEYS do
  local delta = ARGV[3]
  if i <= token_keys then delta = ARGV[2] end
  if tonumber(delta) ~= 0 and redis.call("EXISTS", KEYS[i]) == 1 then
    if redis.call("INCRBY", KEYS[i], delta) < 0 then
      redis.call("SET", KEYS[i], 0, "KEEPTTL")
    end
  end
end
return 1
`;
