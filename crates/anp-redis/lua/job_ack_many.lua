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
-- ARGV[3] n, the number of acks; then per ack 3 ARGV for a complete, 5 for another outcome:
--         id, lease token followed by a space (as it begins the lease text), then
--         complete: the completed record when the caller fetched the job (the record it was
--           fetched with, attempt + 1, attempted_at, finalized_at = now; src/inflight.rs), ''
--           to have it built here from the stored record;
--         other: the outcome (retry | dead | snooze | cancel | hand_back), at (µs; retry and
--           snooze, else ''), error (JSON object; retry, dead, cancel, else '')
--         then the stats totals: k, the number of kinds; per kind: kind, m, then m pairs
--         counter, amount: the counters of every ack with stats that counts (complete:
--         completed; retry: failed; dead: failed and dead; each also run:<bucket>, run_sum_us,
--         wait:<bucket>, wait_sum_us) as if all applied, counts above 0 and both sums.
--         They are written only when every complete, retry and dead ack applied; when one
--         lost its lease nothing of them is (the reply says so) and the caller writes the
--         applied acks' counters itself (stats_record.lua). A lost lease is rare (the job
--         was rescued or cancelled under its worker), and per-ack stats in ARGV cost every
--         ack ~1,000 instructions.
-- Returns: one integer per ack, in input order: 1 applied, 0 lease lost; then one more: 1
--          when the totals were written, 0 when not (a counted ack lost its lease).
-- Errors:  ANP_INVALID for a malformed batch (before anything is written), ANP_CORRUPT when
--          a record cannot be read.

local jobs, avail, sched, retry, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local donek, dead, cancelled, wakek, done_n = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[13]
local stats, minutes = KEYS[10], KEYS[11]
export_open(KEYS[12])
leases_open(leases)
local now, minute = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
-- the outcomes other than complete, whose acks take 5 ARGV (a complete's third value, a
-- record or '', is none of these names)
local OTHER = { retry = true, dead = true, snooze = true, cancel = true, hand_back = true }
-- Where each ack's ARGV start.
local first = {}
local p = 4
for i = 1, n do
  first[i] = p
  if OTHER[ARGV[p + 2]] then
    p = p + 5
  else
    p = p + 3
  end
end
local totals = p
if not ARGV[totals] then
  return redis.error_reply('ANP_INVALID job_ack_many: the acks end before the stats totals')
end

-- Writes the totals: one HINCRBY per counter, and the bucket's ZADD when one of them created
-- its counter (its new value is the amount), as stats_incr in lib.lua: a minute's first call.
local function stats_write()
  local q = totals + 1
  for _ = 1, tonumber(ARGV[totals]) do
    local kind, m = ARGV[q], tonumber(ARGV[q + 1])
    local b = minute .. ':' .. kind
    local new = false
    q = q + 2
    for x = q, q + 2 * m - 1, 2 do
      local v = ARGV[x + 1]
      if redis.call('HINCRBY', stats, b .. ':' .. ARGV[x], v) == tonumber(v) then
        new = true
      end
    end
    if new then
      redis.call('ZADD', minutes, minute, b)
    end
    q = q + 2 * m
  end
end

local out = {}
local woke = 0
-- a complete, retry or dead ack lost its lease: the totals count it, so they are not written
local counted_lost = false
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
    if ARGV[b + 2] == '' then
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
    local id, token, v = ARGV[b], ARGV[b + 1], ARGV[b + 2]
    -- a complete's third value is its record (or ''), another outcome's its name
    local outcome = 'complete'
    if OTHER[v] then
      outcome = v
    end
    local l = f[i - c + 1]
    local res = 0
    if l and not done[id] then
      -- the lease is this ack's when its text begins with the token and its space (a
      -- string.sub and a compare: a pattern match costs ~1,100 instructions more)
      local held = sub(l, 1, #token) == token
      local rec
      if outcome == 'complete' and held then
        rec = v
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
        local at, err = ARGV[b + 3], ARGV[b + 4]
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
    elseif outcome == 'complete' or outcome == 'retry' or outcome == 'dead' then
      counted_lost = true
    end
    out[i] = res
  end
  flush()
end
if counted_lost then
  out[n + 1] = 0
else
  stats_write()
  out[n + 1] = 1
end
wake(wakek, woke)
return out
