// Helpers shared by the Node.js drivers of bench/peers-postgres (same output as the shared
// peers harness's bullmq/bench.js).
import fs from 'node:fs';

export const nowMs = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms resolution
export const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const dbUrl = () => {
  const u = process.env.DATABASE_URL;
  if (!u) throw new Error('DATABASE_URL is not set (run.sh sets it to the round\'s own database)');
  return u;
};

// Nearest-rank percentile of a sorted array.
export function pct(sorted, p) {
  if (!sorted.length) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function ready() {
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, 'ready');
}

// Deadline for a worker run: TMO (s, the harness's cap per driver call) less 10 s.
export const deadline = () => Date.now() + Math.max(10, Number(process.env.TMO || 600) - 10) * 1000;

// Result object of a `work` run; in latency mode only the percentiles.
export function workResult(n, secs, lats, extra) {
  const res = { jobs: n, seconds: secs, per_s: n / secs, ...extra };
  if (lats) {
    lats.sort((a, b) => a - b);
    res.p50_ms = pct(lats, 50);
    res.p99_ms = pct(lats, 99);
    res.max_ms = lats.length ? lats[lats.length - 1] : null;
    res.per_s = null;
    res.seconds = null;
  }
  return res;
}

// Dispatch the shared command line: version | enqueue N bulk|single | work N CONC [latency] | produce N RATE
export async function main(impl) {
  const [cmd, a, b, c] = process.argv.slice(2);
  if (cmd === 'enqueue') out(await impl.enqueue(Number(a), b || 'bulk'));
  else if (cmd === 'work') out(await impl.work(Number(a), Number(b || 50), c === 'latency'));
  else if (cmd === 'produce') out(await impl.produce(Number(a), Number(b)));
  else if (cmd === 'version') out({ version: impl.version() });
  else {
    console.error('usage: version | enqueue N bulk|single | work N CONC [latency] | produce N RATE');
    process.exit(2);
  }
  process.exit(0);
}

// Steady-rate producer loop: job i is sent at t0 + i/rate.
export async function produceLoop(n, rate, send) {
  const t0 = nowMs();
  const interval = 1000 / rate;
  for (let i = 0; i < n; i++) {
    const wait = t0 + i * interval - nowMs();
    if (wait > 0) await sleep(wait);
    await send(i, nowMs());
  }
  const secs = (nowMs() - t0) / 1000;
  return { jobs: n, seconds: secs, per_s: n / secs };
}
