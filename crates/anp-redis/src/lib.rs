//! # anp-redis
//!
//! alphanode's Redis / Valkey backend: the [`Store`](anp_core::Store) seam on Redis 6.2+ or
//! Valkey, standalone or Cluster, over TCP or TLS, with ACL users. Every state change is one
//! Lua script on one queue's keys, so each is atomic and Cluster-safe. The same store is the
//! application cache's [`CacheStore`](anp_core::cache::CacheStore) (`Store::cache`): entries,
//! compute leases, tag versions and namespaces under `anp:c:*`, invalidations on the pub/sub
//! channel `anp:c:changes` (docs/cache.md).
//!
//! ```no_run
//! # async fn demo() -> anp_core::Result<()> {
//! let store = anp_redis::RedisStore::open("redis://127.0.0.1:6380/0").await?;
//! let tls = anp_redis::RedisStore::open("rediss://anp:s3cret@redis.internal:6380?ca=/etc/anp/ca.pem").await?;
//! let cluster = anp_redis::RedisStore::open("redis+cluster://10.0.0.1:7000,10.0.0.2:7000").await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - `keys`: every key name (`anp:{<queue>}:<what>`, `anp:{<queue>}:schedule:<name>` and
//!   `…:fires:<name>`, plus the global `anp:queues`, `anp:schema`, `anp:processes`,
//!   `anp:deploys`, `anp:schedules`, `anp:migration`, `anp:migrate_lock`; the cache's
//!   `anp:c:<ns>:<gen>:e:{<key>}`, `…:l:{<key>}`, `anp:c:{<ns>}:gen`, `…:meta`, `…:t:<tag>`,
//!   `anp:c:namespaces`, `anp:c:stats`);
//!   `docs/redis-keys.md` is their table.
//! - `lua/<method>.lua`: one script per state-changing Store method (and
//!   `store_migrate_queue.lua`, the layout migration's step per queue), each with a header
//!   listing its `KEYS`, `ARGV` and replies; `lua/lib.lua` holds the helpers every job script
//!   starts with (the job record format among them). The cache's scripts
//!   (`lua/cache_*.lua`: the fenced write, lease renew and release, tag purge, generation move)
//!   are sent without it.
//! - `scripts`: pulls the scripts in (`include_str!`), the keys each is handed, and the test
//!   that headers and keys agree.
//! - `conn`: the shared reconnecting connection, pipelines of `EVALSHA` with `NOSCRIPT`
//!   reload, per-slot fan-out in Cluster, `SCAN` over every primary, the pool of dedicated
//!   connections for blocking waits, the clients for the cache's pub/sub connection, and the
//!   mapping of Redis errors to [`anp_core::ErrorKind`].
//! - `batch`: the cache's read batcher: concurrent `cache_read`s coalesced into one `MGET`
//!   per slot, sent as soon as the previous batch is on the wire (no timer).
//! - `record`: decoding the job record and script replies.
//! - `url`: the URL forms and their redaction; `open`: connecting, version and layout checks,
//!   script loading, server warnings; `migrate`: the online migration of a layout-1 store to
//!   layout 2 (`lua/store_migrate_queue.lua` per queue, under the lock `anp:migrate_lock`).
//! - `store`: [`RedisStore`] and the `Store` and `CacheStore` impls, which hand each method to
//!   its op in the span `anp.store.<method>`.
//! - `ops/<method>.rs`: one file per Store method (`job_fetch`: `ops/job_fetch.rs`), its `run`
//!   making the calls and reading the replies (`job_wait.rs`: the blocking pop on the wake
//!   lists); `ops/schedule_hash.rs` and `ops/stats_histogram.rs` hold what several schedule
//!   and stats ops share. The cache's methods likewise: `ops/cache_read.rs`,
//!   `ops/cache_watch.rs` (the pub/sub task), … one file per `CacheStore` method.
//!
//! # Guarantees and limits
//!
//! - Delivery is at-least-once; fencing tokens come from a per-queue counter
//!   (`anp:{<queue>}:lease_seq`), so an ack or heartbeat under an old lease changes nothing.
//! - A batch (enqueue, ack, heartbeat) is one script call per queue (enqueue: per chunk of
//!   500 jobs), all pipelined in one round trip; it is atomic per call, not across queues. A
//!   call whose reply was lost (`Unavailable`) may have been applied: enqueue is idempotent by
//!   job id (a repeat reports the job as a duplicate of itself), and a repeated ack reports
//!   the lease lost.
//! - FIFO within a priority is by `run_at` at millisecond resolution, then by id.
//! - Time is an input everywhere; Redis `TIME` is never used to decide a transition.
//! - TLS uses rustls with the ring provider (no aws-lc-rs: it needs cmake and compiles far
//!   longer); `?ca=/path/ca.pem` trusts a private CA; there is no "insecure" mode.

mod batch;
mod conn;
mod inflight;
mod keys;
mod migrate;
mod open;
mod ops;
mod record;
mod scripts;
mod store;
mod url;

pub use keys::is_documented_key;
pub use scripts::script_source;
pub use store::RedisStore;

/// The key-layout version this build writes (`anp:schema`); a store holding a newer one is
/// refused as `Incompatible`, one holding 1 is migrated on open (docs/redis-keys.md,
/// "Migration 1 → 2").
pub const SCHEMA_VERSION: u32 = 2;
