// graphile-worker driver for bench/peers-postgres (database from DATABASE_URL).
//   node graphile-worker.mjs version | enqueue N bulk|single | work N CONC [latency] | produce N RATE
// A job is completed in the store when graphile-worker has deleted its row
// (graphile_worker._private_jobs), which is what it does on success.
import fs from 'node:fs';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import { deadline, dbUrl, main, nowMs, produceLoop, ready, sleep, workResult } from './common.mjs';

const TASK = 'noop';
// graphile-worker logs every completed job at INFO by default; a benchmark measures the queue,
// not the terminal, so only warnings and errors are printed (to stderr).
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`[${level}] ${message}`);
});

async function utils() {
  const u = await makeWorkerUtils({ connectionString: dbUrl(), logger });
  await u.migrate();
  return u;
}

async function pending(pool) {
  const r = await pool.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
  return r.rows[0].n;
}

async function enqueue(n, mode) {
  const u = await utils();
  const t0 = nowMs();
  if (mode === 'bulk') {
    // addJobs: one statement per call (graphile-worker's bulk API); chunks of 1,000 like the shared drivers.
    for (let s = 0; s < n; s += 1000) {
      const specs = [];
      for (let i = s; i < Math.min(n, s + 1000); i++) specs.push({ identifier: TASK, payload: { i } });
      await u.addJobs(specs);
    }
  } else {
    for (let i = 0; i < n; i++) await u.addJob(TASK, { i });
  }
  const secs = (nowMs() - t0) / 1000;
  const r = await u.withPgClient((c) => c.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs'));
  await u.release();
  return { jobs: n, seconds: secs, per_s: n / secs, check_pending: r.rows[0].n };
}

async function produce(n, rate) {
  const u = await utils();
  const res = await produceLoop(n, rate, (i, ts) => u.addJob(TASK, { i, ts }));
  await u.release();
  return res;
}

// Knobs (defaults = graphile-worker's own): GW_LOCAL_QUEUE (localQueue.size, default off),
// GW_COMPLETE_BATCH_MS (completeJobBatchDelay, default off), GW_POLL_MS (pollInterval, 2000).
function knobs(conc) {
  const num = (k) => (process.env[k] != null && process.env[k] !== '' ? Number(process.env[k]) : undefined);
  return {
    concurrency: conc,
    // graphile-worker warns when its pool is smaller than the concurrency: one connection per job.
    maxPoolSize: conc + 1,
    pollInterval: num('GW_POLL_MS') ?? 2000,
    localQueueSize: num('GW_LOCAL_QUEUE'),
    completeJobBatchDelay: num('GW_COMPLETE_BATCH_MS'),
  };
}

async function work(n, conc, latency) {
  const lats = latency ? [] : null;
  let done = 0;
  const t0 = nowMs();
  // graphile-worker migrates its schema on start; the enqueue step has done it already.
  const k = knobs(conc);
  const worker = {};
  if (k.localQueueSize) worker.localQueue = { size: k.localQueueSize };
  if (k.completeJobBatchDelay != null) worker.completeJobBatchDelay = k.completeJobBatchDelay;
  const runner = await run({
    connectionString: dbUrl(),
    concurrency: k.concurrency,
    maxPoolSize: k.maxPoolSize,
    pollInterval: k.pollInterval,
    noHandleSignals: true,
    logger,
    preset: { worker },
    taskList: {
      [TASK]: async (payload) => {
        if (lats) lats.push(nowMs() - payload.ts);
        done++;
      },
    },
  });
  ready();
  const pool = new pg.Pool({ connectionString: dbUrl(), max: 1 });
  const end = deadline();
  let left = -1;
  while (Date.now() < end) {
    if (done >= n) {
      left = await pending(pool);
      if (left === 0) break;
      await sleep(2);
    } else {
      await sleep(5);
    }
  }
  const secs = (nowMs() - t0) / 1000;
  await runner.stop();
  await pool.end();
  if (left !== 0) {
    console.error(`timed out after ${secs.toFixed(1)} s: ${done} handled, ${left} jobs left in the store`);
    process.exit(1);
  }
  return workResult(n, secs, lats, { handled: done, left_in_store: left, wakeup: 'listen/notify', ...k });
}

main({
  version: () => JSON.parse(fs.readFileSync(new URL('./node_modules/graphile-worker/package.json', import.meta.url))).version,
  enqueue,
  work,
  produce,
});
