-- job_list: one queue's jobs matching the filters, newest (highest id) first, below a cursor.
-- Read only. Either gathers the members of the wanted states' zsets (when they hold at most
-- `budget` jobs) or walks the id index newest first, examining at most `budget` ids; in the
-- second case the reply carries a cursor to resume from when the budget ran out first.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records
-- KEYS[2] anp:{<queue>}:ids        zset: every job id (score 0, walked by ZREVRANGEBYLEX)
-- KEYS[3] anp:{<queue>}:scheduled  zset
-- KEYS[4] anp:{<queue>}:available  zset
-- KEYS[5] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[6] anp:{<queue>}:completed  zset (earlier releases'; with done below)
-- KEYS[7] anp:{<queue>}:retryable  zset
-- KEYS[8] anp:{<queue>}:dead       zset
-- KEYS[9] anp:{<queue>}:cancelled  zset
-- KEYS[10] anp:{<queue>}:done      zset: completed jobs, a member per ack call (lib.lua)
-- KEYS[11] anp:{<queue>}:done_count  string: how many ids done's members hold
-- ARGV[1] before: only ids strictly below this one ('' for no bound)
-- ARGV[2] limit, at most this many jobs
-- ARGV[3] kind ('' for any)
-- ARGV[4] states, space-separated names ('' for all)
-- ARGV[5] budget, at most this many ids examined
-- Returns: {cursor, job...}: cursor is '' when the listing is complete, else the last id
--          examined (call again with before = cursor); each job is {id, record, args, errors,
--          unique key}.
-- Errors:  ANP_INVALID for an unknown state name, ANP_CORRUPT when a record cannot be read.

local jobs, ids = KEYS[1], KEYS[2]
local Z = { scheduled = KEYS[3], available = KEYS[4], running = KEYS[5], completed = KEYS[6],
  retryable = KEYS[7], dead = KEYS[8], cancelled = KEYS[9] }
leases_open(KEYS[5])
-- How many jobs a state holds, and their ids (running: the leases hash; completed: done and
-- the zset of earlier releases; the others a zset). The leases hash also holds LEASES_PIN
-- (lib.lua), which is no job.
local function count(s)
  if s == 'running' then
    return redis.call('HLEN', Z[s])
  elseif s == 'completed' then
    return done_total(KEYS[11], Z[s])
  end
  return redis.call('ZCARD', Z[s])
end
local function members(s)
  if s == 'running' then
    local ids = {}
    for _, id in ipairs(redis.call('HKEYS', Z[s])) do
      if id ~= LEASES_PIN then
        ids[#ids + 1] = id
      end
    end
    return ids
  elseif s == 'completed' then
    return done_ids(KEYS[10], Z[s])
  end
  return redis.call('ZRANGE', Z[s], 0, -1)
end
local before, limit, kind, budget = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])

local want, nstates = {}, 0
for s in string.gmatch(ARGV[4], '%S+') do
  if not Z[s] then
    return redis.error_reply('ANP_INVALID unknown state ' .. s)
  end
  want[s] = true
  nstates = nstates + 1
end

local out = { '' }
local found = 0
local function take(id)
  local j = job_load(jobs, id)
  if j and (kind == '' or j.kind == kind) and (nstates == 0 or want[j.state]) then
    out[#out + 1] = job_reply(jobs, id)
    found = found + 1
  end
end

if limit <= 0 then
  return out
end

if nstates > 0 then
  local total = 0
  for s in pairs(want) do
    total = total + count(s)
  end
  if total <= budget then
    local all = {}
    for s in pairs(want) do
      for _, id in ipairs(members(s)) do
        if before == '' or id < before then
          all[#all + 1] = id
        end
      end
    end
    table.sort(all, function(a, b) return a > b end)
    for _, id in ipairs(all) do
      if found >= limit then
        break
      end
      take(id)
    end
    return out
  end
end

local max = '+'
if before ~= '' then
  max = '(' .. before
end
local examined = 0
while examined < budget do
  local chunk = redis.call('ZREVRANGEBYLEX', ids, max, '-', 'LIMIT', 0, math.min(200, budget - examined))
  if #chunk == 0 then
    return out
  end
  for _, id in ipairs(chunk) do
    examined = examined + 1
    max = '(' .. id
    take(id)
    if found >= limit then
      return out
    end
  end
end
out[1] = string.sub(max, 2)
return out
