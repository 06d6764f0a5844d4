-- lib.lua: helpers for the job scripts (Redis Lua has no `require`). src/scripts.rs prepends to
-- each script the top-level definitions below (`local NAME` / `local function NAME` at the start
-- of a line) that its body names, and those they name: a definition may use only earlier ones.
-- Not a script of its own: it touches no key it is not handed.
--
-- A job lives in its queue's hash anp:{<queue>}:jobs under these fields:
--   <id>          the record: one line of space-separated fields, "-" for none
--                   state priority attempt max_attempts run_at created_at attempted_at
--                   finalized_at lease_token lease_expires_at kind [flags | lease_owner]
--                 flags (records written by layout 2): `+` then `e` or `-` (the job has
--                 an error history) then `u` or `-` (it has a unique key), so job_fetch
--                 reads those two fields only for jobs that have them; a record without
--                 flags (layout 1's) may have either. lease_owner: a running record
--                 written by a layout-1 process (last: it may hold spaces).
--   <id>:args     the arguments, JSON text exactly as enqueued
--   <id>:errors   the error history, a JSON array of {attempt, at, message, retry_safe}
--   <id>:unique   the unique key, if any
-- A running job also has a field in anp:{<queue>}:leases (layout 2): see LEASES below.
-- Times are integer microseconds since the Unix epoch kept as decimal text: they are never
-- printed through a Lua number (tostring(1.7e15) gives "1.7e+15").

local REC = '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) ?(.*)$'

-- The hot path (job_ack_many's completes) reads a record with this instead of REC: the
-- same 11 fields, each limited to what rec_format writes (digits, '-' for none, a kind's
-- [A-Za-z0-9_.:-]; the attempt counts it copies as text: no leading zero, at most 15 digits),
-- so whatever they accept REC splits the same way, and splicing the new record from the old
-- text gives what rec_parse + rec_format would. Anything else takes that general path.
-- Bracket classes because %S and %d cost more per character; one literal because a `..`
-- here would run on every call of every script.
local REC_FETCH =
  '^[a-z]+ ([0-9]+ )([0-9]+)( ()[1-9][0-9]*() [0-9]+ [0-9]+ )[0-9-]+( [0-9-]+ )[0-9-]+ [0-9-]+ ([A-Za-z0-9_.:-]+)()'

-- Whether a match ending at e ends kind where REC's %S+ would: at the end or before a space.
local function rec_kind_ends(s, e)
  return e > #s or string.byte(s, e) == 32
end

-- For job_ack_many: 'priority ', attempt, ' max_attempts run_at created_at ', ' finalized_at ',
-- kind and what follows kind (' ' and the flags, or '') of record s (not running), or nil when
-- s takes the general path. max_attempts has at most 15 digits (a double holds it exactly, so
-- it is the text rec_format would write).
local function rec_fetch_fields(s)
  local pr, at, mid, q1, q2, fa, kind, e = string.match(s, REC_FETCH)
  if pr and q2 - q1 <= 15 and rec_kind_ends(s, e) then
    return pr, at, mid, fa, kind, string.sub(s, e)
  end
end

-- Jobs per variadic HMGET / HSET / ZADD / ZREM of a batch (unpack's limit is about 8000 values).
local CHUNK = 250

-- States that hold a unique key against newcomers.
local LIVE = { scheduled = true, available = true, running = true, retryable = true }

-- Wake tokens kept per queue at most (each wakes one blocked job_wait).
local WAKE_MAX = 8

local function rec_parse(id, s)
  local st, pr, at, ma, ra, ca, aa, fa, lt, le, kind, owner = string.match(s, REC)
  if not st then
    error({ err = 'ANP_CORRUPT job ' .. id .. ' has an unreadable record: ' .. s })
  end
  local j = {
    state = st, priority = pr, attempt = tonumber(at), max_attempts = tonumber(ma),
    run_at = ra, created_at = ca, attempted_at = aa, finalized_at = fa,
    token = lt, lease_expires_at = le, kind = kind, owner = owner, flags = '',
  }
  if st ~= 'running' then
    j.owner = ''
    if string.find(owner, '^%+[e-][u-]$') then
      j.flags = owner
    end
  end
  return j
end

local function rec_format(j)
  local s = table.concat({
    j.state, j.priority, string.format('%d', j.attempt), string.format('%d', j.max_attempts),
    j.run_at, j.created_at, j.attempted_at, j.finalized_at, j.token, j.lease_expires_at, j.kind,
  }, ' ')
  if j.state == 'running' then
    s = s .. ' ' .. j.owner
  elseif j.flags and j.flags ~= '' then
    s = s .. ' ' .. j.flags
  end
  return s
end

-- Layout 2: a job is running while its id is a field of anp:{<queue>}:leases, whose value is
-- `token lease_until attempted_at owner` (owner last: it may hold spaces, or be empty). The
-- record is not rewritten when a job is leased: it keeps the state the job was fetched from and
-- the attempt count before this attempt. The job as it is now ("merged") is the record with
-- the lease applied (lease_apply). Every script that reads or changes jobs calls leases_open
-- once with its leases key; job_load, job_reply and export_keep merge, job_save writes the
-- lease or the record (and drops the lease when the job leaves running).
local LEASES = false

-- A field of every leases hash that is not a job: its value is longer than Redis' default
-- hash-max-listpack-value (64 bytes), so the hash is a hashtable from its first write and a
-- lease is found by hashing instead of by scanning a listpack (about 4,800 instructions per
-- job at 50 jobs in flight, docs/redis-keys.md). Readers that walk the hash skip it.
local LEASES_PIN = '~hashtable'
local LEASES_PIN_TEXT =
  'keeps this hash a hashtable (a value over 64 bytes): see docs/redis-keys.md, leases'

local function leases_open(key)
  LEASES = key
end

-- Applies lease text l to parsed record j: running, one attempt more, the lease's fields.
local function lease_apply(id, j, l)
  local tok, le, aa, owner = string.match(l, '^(-?[0-9]+) ([0-9]+) ([0-9]+) (.*)$')
  if not tok then
    error({ err = 'ANP_CORRUPT job ' .. id .. ' has an unreadable lease: ' .. l })
  end
  j.state, j.attempt, j.token, j.lease_expires_at, j.attempted_at, j.owner, j.leased =
    'running', j.attempt + 1, tok, le, aa, owner, true
  return j
end

-- The lease text of running job j.
local function lease_text(j)
  return j.token .. ' ' .. j.lease_expires_at .. ' ' .. j.attempted_at .. ' ' .. j.owner
end

-- Record text s of job id as it is now: merged with its lease when it has one.
local function rec_merged(id, s)
  local l = redis.call('HGET', LEASES, id)
  if l then
    return rec_format(lease_apply(id, rec_parse(id, s), l))
  end
  return s
end

-- The job as it is now (record merged with its lease), or nil when the queue holds no such job.
-- A record that says `running` without a lease was written by a layout-1 process and is taken
-- as it says (job_rescue_expired takes it back from the layout-1 running zset).
local function job_load(jobs, id)
  local s = redis.call('HGET', jobs, id)
  if not s then
    return nil
  end
  local j = rec_parse(id, s)
  local l = redis.call('HGET', LEASES, id)
  if l then
    lease_apply(id, j, l)
  end
  return j
end

-- Copy-on-write for a running export (job_export_begin.lua, docs/redis-keys.md): while the
-- queue's anp:{<queue>}:export hash holds a `~token` field, the first change to a job saves
-- the job's fields as they were when the export began ('-' for a job that did not exist yet),
-- so the export reads the queue as of one instant while workers keep changing it. Every script
-- that changes a job calls export_open once with its export key; export_keep runs before each
-- change (job_save, errors_append, enqueue_one do it themselves).
local EXPORT = false

local function export_open(key)
  if redis.call('HEXISTS', key, '~token') == 1 then
    EXPORT = key
  end
end

local function export_keep(jobs, id)
  if not EXPORT or redis.call('HEXISTS', EXPORT, id) == 1 then
    return
  end
  local f = redis.call('HMGET', jobs, id, id .. ':args', id .. ':errors', id .. ':unique')
  if not f[1] then
    redis.call('HSET', EXPORT, id, '-')
    return
  end
  local kv = { id, rec_merged(id, f[1]) }
  local names = { ':args', ':errors', ':unique' }
  for i = 2, 4 do
    if f[i] then
      kv[#kv + 1] = id .. names[i - 1]
      kv[#kv + 1] = f[i]
    end
  end
  redis.call('HSET', EXPORT, unpack(kv))
end

-- Deletes the jobs in list `batch` (ids, all in zset z, or in none when z is nil) of a queue:
-- each unique key is released if it still points to its job (uniq: anp:{<queue>}:unique), a
-- running export keeps the pre-images, then the jobs' fields and their `ids` and z entries go.
-- One HMGET/HDEL/ZREM per step for the whole batch (callers pass at most CHUNK ids). Returns
-- how many z held (the batch's size when z is nil).
local function jobs_delete(jobs, ids, uniq, batch, z)
  local n = #batch
  local ufields = {}
  for i = 1, n do
    ufields[i] = batch[i] .. ':unique'
  end
  local ukeys = redis.call('HMGET', jobs, unpack(ufields))
  local held, hids = {}, {}
  for i = 1, n do
    if ukeys[i] then
      held[#held + 1] = ukeys[i]
      hids[#hids + 1] = batch[i]
    end
  end
  if #held > 0 then
    local holders = redis.call('HMGET', uniq, unpack(held))
    local release = {}
    for i = 1, #held do
      if holders[i] == hids[i] then
        release[#release + 1] = held[i]
      end
    end
    if #release > 0 then
      redis.call('HDEL', uniq, unpack(release))
    end
  end
  local fields = {}
  for i = 1, n do
    local id = batch[i]
    export_keep(jobs, id)
    fields[#fields + 1] = id
    fields[#fields + 1] = id .. ':args'
    fields[#fields + 1] = id .. ':errors'
    fields[#fields + 1] = id .. ':unique'
  end
  redis.call('HDEL', jobs, unpack(fields))
  redis.call('ZREM', ids, unpack(batch))
  if not z then
    return n
  end
  return redis.call('ZREM', z, unpack(batch))
end

-- Completed jobs (docs/redis-keys.md, "Completed jobs"). anp:{<queue>}:done holds one member
-- per ack call: the ids the call completed, joined by single spaces, scored by their
-- finalized_at (µs); anp:{<queue>}:done_count counts the ids its members hold (a zset's
-- ZCARD counts members). A member per call costs the ack one ZADD instead of one member per
-- job, and 41 bytes a job instead of 144. anp:{<queue>}:completed (the "legacy" key below),
-- one member per job, is what earlier releases wrote: read and removed from, never written.

-- Records that the ids in `list` (n of them, joined by single spaces) completed at `at` (µs).
local function done_add(done, count, at, list, n)
  if redis.call('ZADD', done, at, list) == 1 then
    redis.call('INCRBY', count, n)
  end
end

-- The ids of one done member.
local function done_split(member)
  local t = {}
  for id in string.gmatch(member, '%S+') do
    t[#t + 1] = id
  end
  return t
end

-- The score of completed job j in the completed index: its finalized_at, or for a job
-- restored from a backup without one, its created_at (job_import_many).
local function done_score(j)
  if j.finalized_at ~= '-' then
    return j.finalized_at
  end
  return j.created_at
end

-- Replaces done member m (score s) by the ids in `rest` (none: the member goes), and lowers
-- done_count by `taken`, the ids m held that `rest` does not.
local function done_rewrite(done, count, m, s, rest, taken)
  redis.call('ZREM', done, m)
  if #rest > 0 then
    redis.call('ZADD', done, s, table.concat(rest, ' '))
  end
  redis.call('DECRBY', count, taken)
end

-- Takes completed job j (id) out of the completed index: out of the legacy zset, else out of
-- the done member holding it (written again without it). Returns 1 when it was there.
local function done_remove(done, count, legacy, id, j)
  if redis.call('ZREM', legacy, id) == 1 then
    return 1
  end
  local s = done_score(j)
  local needle = ' ' .. id .. ' '
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', done, s, s)) do
    if string.find(' ' .. m .. ' ', needle, 1, true) then
      local all, rest = done_split(m), {}
      for _, x in ipairs(all) do
        if x ~= id then
          rest[#rest + 1] = x
        end
      end
      done_rewrite(done, count, m, s, rest, #all - #rest)
      return 1
    end
  end
  return 0
end

-- How many ids done's members hold (done_count; never below 0).
local function done_count(count)
  local c = tonumber(redis.call('GET', count) or '0') or 0
  if c < 0 then
    return 0
  end
  return c
end

-- How many jobs are completed: the legacy zset's members and done's count.
local function done_total(count, legacy)
  return redis.call('ZCARD', legacy) + done_count(count)
end

-- The id of every completed job, once each (an id can be in two members when a release
-- before this one retried its job without taking it out: the stale one is skipped by readers,
-- who check the record).
local function done_ids(done, legacy)
  local out, seen = {}, {}
  for _, id in ipairs(redis.call('ZRANGE', legacy, 0, -1)) do
    seen[id] = true
    out[#out + 1] = id
  end
  for _, m in ipairs(redis.call('ZRANGE', done, 0, -1)) do
    for id in string.gmatch(m, '%S+') do
      if not seen[id] then
        seen[id] = true
        out[#out + 1] = id
      end
    end
  end
  return out
end

-- Takes the first k ids out of done member m (score s; written again with the rest) and
-- deletes each of those jobs whose record still says completed at s (jobs_delete). An id
-- whose job is gone, or is no longer completed at s (a release before this one retried or
-- deleted it without taking it out of done), is only dropped from the member.
-- Returns the number of jobs deleted and the number of ids taken (at most k).
local function done_take(jobs, ids, uniq, done, count, m, s, k)
  local all = done_split(m)
  local batch, rest = {}, {}
  for i = 1, #all do
    if i <= k then
      batch[#batch + 1] = all[i]
    else
      rest[#rest + 1] = all[i]
    end
  end
  done_rewrite(done, count, m, s, rest, #batch)
  local recs = redis.call('HMGET', jobs, unpack(batch))
  local at = tonumber(s)
  local gone = {}
  for i = 1, #batch do
    local r = recs[i]
    if r then
      -- state, created_at and finalized_at by REC (an unreadable record is only dropped)
      local st, _, _, _, _, ca, _, fa = string.match(r, REC)
      local fin = done_score({ finalized_at = fa, created_at = ca })
      if st == 'completed' and tonumber(fin) == at then
        gone[#gone + 1] = batch[i]
      end
    end
  end
  if #gone > 0 then
    jobs_delete(jobs, ids, uniq, gone, nil)
  end
  return #gone, #batch
end

-- Writes job j as it is now: a leased job that stays running only rewrites its lease (its
-- record keeps the state it was fetched from); any other job gets its record written, and a
-- lease it had is dropped (it left running).
local function job_save(jobs, id, j)
  export_keep(jobs, id)
  if j.leased and j.state == 'running' then
    redis.call('HSET', LEASES, id, lease_text(j))
    return
  end
  redis.call('HSET', jobs, id, rec_format(j))
  if j.leased then
    redis.call('HDEL', LEASES, id)
    j.leased = false
  end
end

-- Clears the lease fields (every transition out of running does).
local function lease_clear(j)
  j.token = '-'
  j.lease_expires_at = '-'
  j.owner = ''
end

-- The reply for one job: id, record (merged with its lease), args, errors, unique key (missing
-- fields are nil).
local function job_reply(jobs, id)
  local f = redis.call('HMGET', jobs, id, id .. ':args', id .. ':errors', id .. ':unique')
  local s = f[1]
  if s then
    s = rec_merged(id, s)
  end
  return { id, s, f[2], f[3], f[4] }
end

-- Appends one error (a JSON object as text) to the job's history without re-encoding it.
-- Also marks job j (the record about to be written) as having errors.
local function errors_append(jobs, id, e, j)
  if j.flags and j.flags ~= '' then
    j.flags = '+e' .. string.sub(j.flags, 3, 3)
  end
  export_keep(jobs, id)
  local f = id .. ':errors'
  local cur = redis.call('HGET', jobs, f)
  if cur and cur ~= '[]' then
    cur = string.sub(cur, 1, -2) .. ',' .. e .. ']'
  else
    cur = '[' .. e .. ']'
  end
  redis.call('HSET', jobs, f, cur)
end

-- Score in anp:{q}:available: priority first, then run_at in milliseconds; equal scores order
-- by member (the id, a UUIDv7, so creation order). Exact below 2^53.
local function avail_score(priority, run_at)
  -- Fast path, the same text without number formatting (string.format('%.0f') costs more than
  -- the rest of a one-job enqueue): a one-digit priority and run_at as rec_format and the client
  -- write it, decimal without sign or leading zero, below 10^17 µs.
  local n = #run_at
  local p = string.byte(priority, 1)
  if #priority == 1 and p >= 48 and p <= 57 and n <= 17 and string.find(run_at, '^[1-9][0-9]*$') then
    local ms = '0'
    if n > 3 then
      ms = string.sub(run_at, 1, n - 3)
    end
    if p == 48 then
      return ms
    end
    return priority .. string.rep('0', 14 - #ms) .. ms
  end
  local ms = math.floor(tonumber(run_at) / 1000)
  if ms < 0 then
    ms = 0
  elseif ms > 99999999999999 then
    ms = 99999999999999
  end
  return string.format('%.0f', tonumber(priority) * 100000000000000 + ms)
end

-- Tops the wake list up to WAKE_MAX tokens with up to n more, for blocked job_wait calls
-- (BLPOP). A full list (nobody waited since) costs one LLEN; a new list expires a minute after
-- it was created, so an idle queue keeps no key (tokens are only hints: a worker fetches before
-- it waits, and a wait that finds none ends at its poll interval).
local function wake(key, n)
  if n <= 0 then
    return
  end
  local len = redis.call('LLEN', key)
  if n > WAKE_MAX - len then
    n = WAKE_MAX - len
  end
  if n <= 0 then
    return
  end
  local t = {}
  for i = 1, n do
    t[i] = '1'
  end
  redis.call('LPUSH', key, unpack(t))
  if len == 0 then
    redis.call('PEXPIRE', key, 60000)
  end
end

-- RFC 3339 in UTC for µs text, as jiff prints a Timestamp (fraction trimmed, none when zero).
local function rfc3339(us_text)
  local us = tonumber(us_text)
  local secs = math.floor(us / 1000000)
  local frac = us - secs * 1000000
  local days = math.floor(secs / 86400)
  local sod = secs - days * 86400
  -- civil_from_days (Howard Hinnant's algorithm)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m
  if mp < 10 then
    m = mp + 3
  else
    m = mp - 9
  end
  if m <= 2 then
    y = y + 1
  end
  local s = string.format('%04d-%02d-%02dT%02d:%02d:%02d', y, m, d, math.floor(sod / 3600),
    math.floor(sod / 60) % 60, sod % 60)
  if frac > 0 then
    local f = string.gsub(string.format('%06d', frac), '0+$', '')
    s = s .. '.' .. f
  end
  return s .. 'Z'
end

-- Per-minute stats: bucket `<minute_us>:<kind>` in anp:{<queue>}:stat_minutes (score: the
-- minute), counters in anp:{<queue>}:stats under `<minute_us>:<kind>:<counter>`; counters are
-- enqueued, completed, failed, dead, run:<bucket>, run_sum_us, wait:<bucket>, wait_sum_us.
local HIST_BUCKETS = 17

-- A bucket is listed in `minutes` from the first counter written to it: the increment that
-- creates a counter (its new value is the amount) adds the bucket, later ones need not.
local function stats_incr(stats, minutes, minute, kind, counter, n)
  local b = minute .. ':' .. kind
  if redis.call('HINCRBY', stats, b .. ':' .. counter, n) == tonumber(n) then
    redis.call('ZADD', minutes, minute, b)
  end
end

-- Every counter field of bucket b (for deleting it).
local function stats_fields(b)
  local f = { b .. ':enqueued', b .. ':completed', b .. ':failed', b .. ':dead',
    b .. ':run_sum_us', b .. ':wait_sum_us' }
  for i = 0, HIST_BUCKETS - 1 do
    f[#f + 1] = b .. ':run:' .. i
    f[#f + 1] = b .. ':wait:' .. i
  end
  return f
end

-- The record of a job just enqueued (attempt 0, no lease): what rec_format writes, without
-- formatting numbers when max_attempts is already canonical text (as the client sends it).
local function new_rec(state, prio, max_attempts, run_at, now, kind, ukey)
  local flags = ' +--'
  if ukey ~= '' then
    flags = ' +-u'
  end
  if #max_attempts <= 15 and string.find(max_attempts, '^[1-9][0-9]*$') then
    return state .. ' ' .. prio .. ' 0 ' .. max_attempts .. ' ' .. run_at .. ' ' .. now
      .. ' - - - - ' .. kind .. flags
  end
  return rec_format({
    state = state, priority = prio, attempt = 0, max_attempts = tonumber(max_attempts),
    run_at = run_at, created_at = now, attempted_at = '-', finalized_at = '-',
    token = '-', lease_expires_at = '-', kind = kind, owner = '', flags = string.sub(flags, 2),
  })
end

-- Adds one new job unless its id exists or its unique key is held (live, or created within
-- the period). Returns the job's id (or the holder's), 1 for a duplicate else 0, its state.
-- k: { jobs, ids, avail, sched, uniq } keys.
local function enqueue_one(k, now, id, kind, args, prio, max_attempts, run_at, ukey, uperiod)
  local now_n = tonumber(now)
  local existing = job_load(k.jobs, id)
  if existing then
    -- The same id again: a client retrying a call whose reply it lost.
    return id, 1, existing.state
  end
  if ukey ~= '' then
    local holder = redis.call('HGET', k.uniq, ukey)
    if holder then
      local h = job_load(k.jobs, holder)
      if h and (LIVE[h.state] or (uperiod ~= '' and tonumber(h.created_at) >= now_n - tonumber(uperiod))) then
        return holder, 1, h.state
      end
    end
  end
  local state = 'scheduled'
  if tonumber(run_at) <= now_n then
    state = 'available'
  end
  local rec = new_rec(state, prio, max_attempts, run_at, now, kind, ukey)
  export_keep(k.jobs, id)
  if ukey ~= '' then
    redis.call('HSET', k.jobs, id, rec, id .. ':args', args, id .. ':unique', ukey)
    redis.call('HSET', k.uniq, ukey, id)
  else
    redis.call('HSET', k.jobs, id, rec, id .. ':args', args)
  end
  redis.call('ZADD', k.ids, '0', id)
  if state == 'available' then
    redis.call('ZADD', k.avail, avail_score(prio, run_at), id)
  else
    redis.call('ZADD', k.sched, run_at, id)
  end
  return id, 0, state
end
