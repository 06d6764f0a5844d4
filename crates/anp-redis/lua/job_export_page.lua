-- job_export_page: one step of an export opened by job_export_begin: HSCANs the queue's jobs
-- hash from a cursor and returns each job as it was when the export began (its pre-image when
-- it changed since, nothing when it was created since). Also keeps the export hash alive.
--
-- KEYS[1] anp:{<queue>}:jobs    hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:export  hash: `~token` and the pre-images of changed jobs
-- ARGV[1] the export's token
-- ARGV[2] ttl, ms (see job_export_begin)
-- ARGV[3] HSCAN cursor ('0' to start)
-- ARGV[4] HSCAN COUNT hint (hash fields; a job has 2 to 4)
-- Returns: {next cursor ('0' when done), {{id, record, args, errors, unique key}, ...}}.
-- Errors:  ANP_EXPORT_LOST when the export hash expired or belongs to another export.

local jobs, export = KEYS[1], KEYS[2]
if redis.call('HGET', export, '~token') ~= ARGV[1] then
  return redis.error_reply('ANP_EXPORT_LOST the export hash expired or was replaced')
end
redis.call('PEXPIRE', export, ARGV[2])
local r = redis.call('HSCAN', jobs, ARGV[3], 'COUNT', ARGV[4])
local out = {}
local f = r[2]
for i = 1, #f, 2 do
  local id = f[i]
  if not string.find(id, ':', 1, true) then
    local pre = redis.call('HGET', export, id)
    if not pre then
      out[#out + 1] = job_reply(jobs, id)
    elseif pre ~= '-' then
      local g = redis.call('HMGET', export, id .. ':args', id .. ':errors', id .. ':unique')
      out[#out + 1] = { id, pre, g[1], g[2], g[3] }
    end
  end
end
return { r[1], out }
