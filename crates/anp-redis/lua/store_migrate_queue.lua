-- store_migrate_queue: moves one queue from key layout 1 to layout 2 (docs/redis-keys.md,
-- "Migration 1 → 2"), in one atomic call; idempotent (a queue already migrated is left as it is).
-- Called by the migration driver (src/migrate.rs) on `open` of a store whose `anp:schema` is 1,
-- for every queue in `anp:queues`.
--
--  1. Pause flag: layout 2 keeps it in `pause`; `paused` (layout 1's) is set to `1` so release-1
--     workers still running fetch nothing more from the queue (their job_fetch.lua returns {}
--     when `paused` is `1`). `pause` gets `paused`'s value (absent stays absent).
--  2. Every member of the layout-1 `running` zset whose record says `running` gets a lease
--     (`leases` field id = `token lease_expires_at attempted_at owner`), and its record goes back
--     to what layout 2 keeps for a running job: state `available`, attempt - 1, lease fields
--     `-`, no owner, every other field unchanged. A member whose record is missing or not
--     running is only dropped. Then `running` is deleted.
--  3. `layout` = `2` marks the queue done (a second call returns at once).
-- Every running member's record and the lease it gives are read and checked before anything is
-- written, so a record that cannot be read, or a running one whose token, lease expiry or
-- attempted_at is not a number (ANP_CORRUPT), leaves the queue untouched.
--
-- KEYS[1] anp:{<queue>}:jobs     hash: job records
-- KEYS[2] anp:{<queue>}:running  zset: layout 1's running jobs by lease expiry (µs); deleted
-- KEYS[3] anp:{<queue>}:leases   hash: layout 2's leases, id -> token lease_until attempted_at owner
-- KEYS[4] anp:{<queue>}:paused   string: layout 1's pause flag; left at "1"
-- KEYS[5] anp:{<queue>}:pause    string: layout 2's pause flag ("1" / "0" / absent)
-- KEYS[6] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[7] anp:{<queue>}:layout   string: "2" once this queue is migrated
-- ARGV    none
-- Returns: { 1, jobs moved to leases, running members dropped } when this call migrated the
--          queue, { 0, 0, 0 } when it was already migrated.
-- Errors:  ANP_CORRUPT when a running job's record or lease cannot be read (nothing is written
--          then).

local jobs, running, leases, paused, pause, layout =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[7]
if redis.call('GET', layout) == '2' then
  return { 0, 0, 0 }
end
export_open(KEYS[6])
leases_open(leases)

-- Read and check every running member first: an unreadable record stops the call before any
-- write (a script that errors keeps the writes it made).
local members = redis.call('ZRANGE', running, 0, -1)
local move, drop = {}, {}
for _, id in ipairs(members) do
  local s = redis.call('HGET', jobs, id)
  local j = s and rec_parse(id, s)
  if j and j.state == 'running' then
    -- The lease as every layout-2 reader parses it (lease_apply raises ANP_CORRUPT when it
    -- cannot: a token, expiry or attempted_at that is not a number).
    local l = lease_text(j)
    lease_apply(id, rec_parse(id, s), l)
    move[#move + 1] = { id, j, l }
  else
    drop[#drop + 1] = id
  end
end

if redis.call('EXISTS', pause) == 0 then
  local was = redis.call('GET', paused)
  if was then
    redis.call('SET', pause, was)
  end
end
redis.call('SET', paused, '1')

for _, m in ipairs(move) do
  local id, j = m[1], m[2]
  -- The pre-image for a running export first, while the job has no lease yet: the layout-1
  -- running record as it was (job_save's own export_keep is then a no-op).
  export_keep(jobs, id)
  redis.call('HSET', leases, id, m[3])
  j.state = 'available'
  if j.attempt > 0 then
    j.attempt = j.attempt - 1
  end
  lease_clear(j)
  job_save(jobs, id, j)
end
redis.call('DEL', running)
redis.call('SET', layout, '2')
return { 1, #move, #drop }
