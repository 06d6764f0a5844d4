-- job_ack_many: applies a batch of acknowledgements for one queue, in order. Each applies only
-- if the job is still running under the presented token (fencing); otherwise nothing changes
-- and its reply is 0 (lease lost).
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, errors
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[4] anp:{<queue>}:retryable  zset: retryable jobs by run_at (µs)
-- KEYS[5] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[6] anp:{<queue>}:done       zset: completed jobs, a member per call (lib.lua, done_add)
-- KEYS[7] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[8] anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[9] anp:{<queue>}:wake       list: wake tokens (hand_back makes a job available)
-- KEYS[10] anp:{<queue>}:stats     hash: per-minute stats counters
-- KEYS[11] anp:{<queue>}:stat_minutes  zset: stats buckets by minute
-- KEYS[12] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[13] anp:{<queue>}:done_count  string: how many ids done's members hold
-- ARGV[1] now, µs (becomes finalized_at for final states)
-- ARGV[2] the start of now's minute, µs (the stats bucket)
-- ARGV[3] n, the number of acks; then per ack 5 ARGV for a complete, 6 for another outcome:
--         id, lease token followed by a space (as it begins the lease text), outcome
--         (complete | retry | dead | snooze | cancel | hand_back),
--         stats ('' for none, else "kind run_bucket run_µs wait_bucket wait_µs"),
--         complete: the completed record when the caller fetched the job (the record it was
--           fetched with, attempt + 1, attempted_at, finalized_at = now; src/inflight.rs), ''
--           to have it built here from the stored record;
--         other: at (µs; retry and snooze, else ''), error (JSON object; retry, dead, cancel,
--           else '')
--         then the stats totals: k, the number of kinds; per kind: kind, m, then m pairs
--         counter, amount: the counters of every ack with stats that counts (complete:
--         completed; retry: failed; dead: failed and dead; each also run:<bucket>, run_sum_us,
--         wait:<bucket>, wait_sum_us) as if all applied, counts above 0 and both sums.
--         Only applied acks count: those whose lease was lost are taken out of the totals,
--         and a count that ends at 0 (or a kind with no applied ack) is not written.
-- Returns: one integer per ack, in input order: 1 applied, 0 lease lost.
-- Errors:  ANP_INVALID for an unknown outcome (before anything is written) or for unreadable
--          stats of an ack whose lease was lost, ANP_CORRUPT when a record cannot be read.

local jobs, avail, sched, retry, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local donek, dead, cancelled, wakek, done_n = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[13]
local stats, minutes = KEYS[10], KEYS[11]
export_open(KEYS[12])
leases_open(leases)
local now, minute = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
-- outcome -> ARGV per ack
local OUTCOMES = { complete = 5, retry = 6, dead = 6, snooze = 6, cancel = 6, hand_back = 6 }
-- Where each ack's ARGV start.
local first = {}
local p = 4
for i = 1, n do
  local o = ARGV[p + 2]
  local width = OUTCOMES[o]
  if not width then
    return redis.error_reply('ANP_INVALID unknown ack outcome ' .. tostring(o))
  end
  first[i] = p
  p = p + width
end
local totals = p

-- Per kind, counter -> what the acks whose lease was lost had added to the totals.
local lost = {}
local function uncount(outcome, st)
  local kind, rb, ru, wb, wu = string.match(st, '^(%S+) (%S+) (%S+) (%S+) (%S+)$')
  if not kind then
    error({ err = 'ANP_INVALID unreadable ack stats ' .. st })
  end
  local l = lost[kind]
  if not l then
    l = {}
    lost[kind] = l
  end
  local function add(counter, v)
    l[counter] = (l[counter] or 0) + v
  end
  if outcome == 'complete' then
    add('completed', 1)
  else
    add('failed', 1)
    if outcome == 'dead' then
      add('dead', 1)
    end
  end
  add('run:' .. rb, 1)
  add('run_sum_us', tonumber(ru))
  add('wait:' .. wb, 1)
  add('wait_sum_us', tonumber(wu))
end

-- Writes the totals less what `lost` took out: one ZADD per kind with an applied ack, one
-- HINCRBY per count above 0 and per sum.
local SUMS = { run_sum_us = true, wait_sum_us = true }
local function stats_write()
  local q = totals + 1
  for _ = 1, tonumber(ARGV[totals]) do
    local kind, m = ARGV[q], tonumber(ARGV[q + 1])
    local b = minute .. ':' .. kind
    local l = lost[kind]
    q = q + 2
    if not l then
      redis.call('ZADD', minutes, minute, b)
      for x = q, q + 2 * m - 1, 2 do
        redis.call('HINCRBY', stats, b .. ':' .. ARGV[x], ARGV[x + 1])
      end
    else
      local left = {}
      for x = q, q + 2 * m - 1, 2 do
        left[ARGV[x]] = tonumber(ARGV[x + 1]) - (l[ARGV[x]] or 0)
      end
      if (left.completed or 0) + (left.failed or 0) > 0 then
        redis.call('ZADD', minutes, minute, b)
        for counter, v in pairs(left) do
          if v > 0 or SUMS[counter] then
            redis.call('HINCRBY', stats, b .. ':' .. counter, v)
          end
        end
      end
    end
    q = q + 2 * m
  end
end

local out = {}
local woke = 0
-- Ids acked in this call: a job leaves running when its ack applies, so a second ack of it in
-- the same batch finds it no longer running (lease lost) without reading it again.
local done = {}
-- Applied completes (nearly every ack) are written per chunk: one HDEL of the leases, one
-- member of anp:{<queue>}:done holding all their ids (done_add), one HSET of the records.
-- Every other ack first writes what is pending and then runs on its own, so an error stops
-- the batch with the acks before it applied, as before.
local recs, rems, w = {}, {}, 0
local function flush()
  if w > 0 then
    redis.call('HDEL', leases, unpack(rems, 1, w))
    done_add(donek, done_n, now, table.concat(rems, ' ', 1, w), w)
    redis.call('HSET', jobs, unpack(recs, 1, 2 * w))
    w = 0
  end
end
local fin = ' ' .. now .. ' - - '
local format, sub = string.format, string.sub
-- attempt text -> the next attempt's (a batch's jobs mostly share one attempt)
local next_attempt = {}
for c = 1, n, CHUNK do
  local m = math.min(n, c + CHUNK - 1)
  local ids, need, k = {}, {}, 0
  for i = c, m do
    local b = first[i]
    ids[i - c + 1] = ARGV[b]
    if ARGV[b + 4] == '' and ARGV[b + 2] == 'complete' then
      k = k + 1
      need[k] = ARGV[b]
    end
  end
  local f = redis.call('HMGET', leases, unpack(ids, 1, m - c + 1))
  -- the stored records of the completes that came without one
  local stored = {}
  if k > 0 then
    local r = redis.call('HMGET', jobs, unpack(need, 1, k))
    for x = 1, k do
      stored[need[x]] = r[x]
    end
  end
  for i = c, m do
    local b = first[i]
    local id, token, outcome = ARGV[b], ARGV[b + 1], ARGV[b + 2]
    local l = f[i - c + 1]
    local res = 0
    if l and not done[id] then
      -- the lease is this ack's when its text begins with the token and its space (a
      -- string.sub and a compare: a pattern match costs ~1,100 instructions more)
      local held = sub(l, 1, #token) == token
      local rec
      if outcome == 'complete' and held then
        rec = ARGV[b + 4]
        if rec == '' then
          -- built from the stored record (REC_FETCH in lib.lua): one attempt more, the lease's
          -- attempted_at, now as finalized_at
          local pr, at, mid, fa, kind, rest = rec_fetch_fields(stored[id] or '')
          if pr then
            local a1 = next_attempt[at]
            if not a1 then
              a1 = format('%d', at + 1)
              next_attempt[at] = a1
            end
            local aa = string.match(l, '^-?[0-9]+ [0-9]+ ([0-9]+) ')
            rec = 'completed ' .. pr .. a1 .. mid .. aa .. fin .. kind .. rest
          else
            rec = nil
          end
        end
      end
      if rec then
        -- a leased job completed under its own token (export_keep tests EXPORT too; the
        -- test here saves a Lua call per job, ~800 instructions)
        if EXPORT then
          export_keep(jobs, id)
        end
        w = w + 1
        rems[w] = id
        recs[2 * w - 1], recs[2 * w] = id, rec
        res = 1
      elseif held then
        flush()
        local at, err = ARGV[b + 4], ARGV[b + 5]
        local j = job_load(jobs, id)
        if j and j.state == 'running' and j.token .. ' ' == token then
          lease_clear(j)
          if outcome == 'complete' then
            j.state, j.finalized_at = 'completed', now
            done_add(donek, done_n, now, id, 1)
          elseif outcome == 'retry' then
            j.state, j.run_at = 'retryable', at
            errors_append(jobs, id, err, j)
            redis.call('ZADD', retry, at, id)
          elseif outcome == 'dead' then
            j.state, j.finalized_at = 'dead', now
            errors_append(jobs, id, err, j)
            redis.call('ZADD', dead, now, id)
          elseif outcome == 'snooze' then
            j.state, j.run_at, j.attempt = 'scheduled', at, j.attempt - 1
            redis.call('ZADD', sched, at, id)
          elseif outcome == 'cancel' then
            j.state, j.finalized_at = 'cancelled', now
            errors_append(jobs, id, err, j)
            redis.call('ZADD', cancelled, now, id)
          else -- hand_back: run_at is kept, so the job keeps its place in line
            j.state, j.attempt = 'available', j.attempt - 1
            redis.call('ZADD', avail, avail_score(j.priority, j.run_at), id)
            woke = woke + 1
          end
          job_save(jobs, id, j)
          res = 1
        end
      end
    end
    if res == 1 then
      done[id] = true
    else
      local st = ARGV[b + 3]
      if st ~= '' and (outcome == 'complete' or outcome == 'retry' or outcome == 'dead') then
        uncount(outcome, st)
      end
    end
    out[i] = res
  end
  flush()
end
stats_write()
wake(wakek, woke)
return out
