// pg-boss driver for bench/peers-postgres (database from DATABASE_URL).
//   node pg-boss.mjs version | enqueue N bulk|single | work N CONC [latency] | produce N RATE
// A job is completed in the store when its row in pgboss.job has state 'completed'.
import fs from 'node:fs';
import { PgBoss } from 'pg-boss';
import { deadline, dbUrl, main, nowMs, produceLoop, ready, sleep, workResult } from './common.mjs';

const QUEUE = 'noop';
// PGBOSS_NOTIFY=0 turns LISTEN/NOTIFY wake-ups off (pg-boss's default); on here because the
// PostgreSQL goal of issue 18 compares latency with LISTEN/NOTIFY.
const NOTIFY = process.env.PGBOSS_NOTIFY !== '0';

async function boss() {
  const b = new PgBoss({ connectionString: dbUrl(), useListenNotify: NOTIFY, max: Number(process.env.PGBOSS_POOL || 10) });
  b.on('error', (e) => console.error('pg-boss error', e && e.message));
  await b.start();
  await b.createQueue(QUEUE, { notify: NOTIFY });
  return b;
}

async function count(b, state) {
  const r = await b.getDb().executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = $2`, [QUEUE, state]);
  return r.rows[0].n;
}

async function enqueue(n, mode) {
  const b = await boss();
  const t0 = nowMs();
  if (mode === 'bulk') {
    // insert: pg-boss's bulk API (one statement per call); chunks of 1,000 like the shared drivers.
    for (let s = 0; s < n; s += 1000) {
      const jobs = [];
      for (let i = s; i < Math.min(n, s + 1000); i++) jobs.push({ data: { i } });
      await b.insert(QUEUE, jobs);
    }
  } else {
    for (let i = 0; i < n; i++) await b.send(QUEUE, { i });
  }
  const secs = (nowMs() - t0) / 1000;
  const created = await count(b, 'created');
  await b.stop({ graceful: false, wait: true });
  return { jobs: n, seconds: secs, per_s: n / secs, check_pending: created };
}

async function produce(n, rate) {
  const b = await boss();
  const res = await produceLoop(n, rate, (i, ts) => b.send(QUEUE, { i, ts }));
  await b.stop({ graceful: false, wait: true });
  return res;
}

async function work(n, conc, latency) {
  const lats = latency ? [] : null;
  let done = 0;
  const t0 = nowMs();
  const b = await boss();
  // pg-boss: CONC worker loops (localConcurrency), each fetching up to PGBOSS_BATCH jobs
  // (default 10) per query and handing them to one handler call; burstWhenBatchFull re-fetches
  // at once after a full batch (otherwise every loop waits its polling interval after each
  // fetch); pollingIntervalSeconds 0.5 is pg-boss's minimum.
  const opts = {
    localConcurrency: conc,
    batchSize: Number(process.env.PGBOSS_BATCH || 10),
    burstWhenBatchFull: true,
    pollingIntervalSeconds: Number(process.env.PGBOSS_POLL_S || 0.5),
  };
  await b.work(QUEUE, opts, async (jobs) => {
    if (lats) {
      const now = nowMs();
      for (const j of jobs) lats.push(now - j.data.ts);
    }
    done += jobs.length;
  });
  ready();
  const end = deadline();
  let completed = -1;
  while (Date.now() < end) {
    if (done >= n) {
      completed = await count(b, 'completed');
      if (completed >= n) break;
      await sleep(2);
    } else {
      await sleep(5);
    }
  }
  const secs = (nowMs() - t0) / 1000;
  await b.stop({ graceful: false, wait: true });
  if (completed < n) {
    console.error(`timed out after ${secs.toFixed(1)} s: ${done} handled, ${completed} completed of ${n}`);
    process.exit(1);
  }
  return workResult(n, secs, lats, { handled: done, completed, notify: NOTIFY, ...opts });
}

main({
  version: () => JSON.parse(fs.readFileSync(new URL('./node_modules/pg-boss/package.json', import.meta.url))).version,
  enqueue,
  work,
  produce,
});
