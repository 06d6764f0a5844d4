//! # anp-conformance
//!
//! One behaviour suite that every alphanode backend runs unchanged (River's `riverdrivertest`,
//! Oban's engine tests). A backend provides a [`Harness`] — a fresh, isolated store per test
//! and its URL — and instantiates the suite with [`conformance_suite!`]:
//!
//! ```ignore
//! anp_conformance::conformance_suite!(SqliteHarness, env!("CARGO_BIN_EXE_anp"));
//! ```
//!
//! # Layout
//! One file per area (River's `riverdrivertest` split: `job_insert.go`, `job_update.go`,
//! `queue.go`, …); [`conformance_suite!`] lists the cases of each area.
//! - [`jobs`]: jobs through the Store seam:
//!   - [`jobs::enqueue`]: what is stored, state by `run_at`, repeated ids, batch atomicity;
//!   - [`jobs::fetch`]: order, limits, leases, paused queues, concurrent fetchers;
//!   - [`jobs::fetch_queues`]: one fetch over several queues: limits per queue and in all,
//!     queue order, paused queues, order within a queue, fencing;
//!   - [`jobs::ack`]: every ack outcome, and mixed batches;
//!   - [`jobs::lease`]: heartbeats, rescue of expired leases, fencing of the old worker;
//!   - [`jobs::promote`]: scheduled and retryable jobs becoming due;
//!   - [`jobs::unique`]: unique keys, within a batch, and their period;
//!   - [`jobs::retry`]: operator retry of one job and of dead jobs in bulk;
//!   - [`jobs::cancel_delete`]: operator cancel and delete, unknown ids;
//!   - [`jobs::list`]: listing with filters and paging.
//! - [`queues`]: the queue listing (counts, oldest job, pause flags).
//! - [`purge`]: deleting one queue's jobs in bulk.
//! - [`retention`]: pruning finished jobs by age and count.
//! - [`export`]: the point-in-time export.
//! - [`monitor`]: ping, per-minute stats, process registry, deploy markers, the audit log.
//! - [`wait`]: `job_wait` wake-ups and timeouts.
//! - [`worker`]: the in-process runtime on that store: outcomes, panics, retries to dead, jobs
//!   of a kind without a handler (snoozed while another live worker declares it, else a failed
//!   attempt), heartbeats keeping long jobs, graceful shutdown, several workers exactly once,
//!   every slot busy and never more (fetches split per [`Store::fetch_split`](anp_core::Store::fetch_split)).
//! - [`schedule`]: scheduled tasks: the atomic tick claim, overlap, pause, fire log, moving a
//!   schedule, and three schedulers firing a per-second schedule with each tick once.
//! - [`process`]: real `anp work` processes: N processes × M jobs exactly once, and a worker
//!   killed with SIGKILL mid-job whose job another worker completes with the lost attempt in
//!   its history.
//! - [`cache`]: the cache seam (`Store::cache`), one file per area: entries (round trip, TTL,
//!   delete, prefix purge, usage, prune), leases and fenced writes, tags, generations, the
//!   invalidation feed, stats; and `cache/client.rs`, the cache through the library: exact
//!   tag purges, one computation under a stampede, stale-while-revalidate, stale-if-error, L1
//!   coherence across clients, deploy generations and rollback, bad stored values, negative
//!   caching, stats, a dead store (computed, not an error; the cache works again when it is
//!   back), and L1 after the invalidation feed was cut (never stale past the reconnect).
//! - [`util`]: building jobs, calling the store, and waiting on conditions with a deadline.
//!
//! Tests wait on worker events or store state with deadlines, never on a bare sleep longer
//! than 100 ms; time-dependent store cases pass explicit instants (the Store takes `now` as
//! input), so no case depends on wall-clock luck. Wall time is spent only where leases,
//! heartbeats or per-second schedules need it, and in the cache's expiry cases: Redis expires
//! cache keys itself (`PX`), so those use TTLs of 200–400 ms, poll for the expiry with a
//! deadline and check it did not come before the TTL.
//!
//! # Gaps
//! A backend that lacks a whole area says so with a reason, and the area's cases are generated
//! as ignored tests that carry it (`conformance_suite!(H, anp, gap(schedules_and_stats) =
//! "…")`): visible in every run, never silently dropped. A case that needs a fault the harness
//! cannot make ([`Harness::stop_store`], [`Harness::drop_cache_feed`]: SQLite is embedded, with
//! no server to kill and no subscription to cut) prints why on stderr and ends.

pub mod cache;
pub mod export;
pub mod jobs;
pub mod monitor;
pub mod process;
pub mod purge;
pub mod queues;
pub mod retention;
pub mod schedule;
pub mod util;
pub mod wait;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use anp_core::Store;

/// What a backend provides to the suite. One harness per test; dropping it releases
/// everything it started (temp files, private servers).
#[async_trait::async_trait]
pub trait Harness: Send + Sync + Sized + 'static {
    /// Sets up an isolated, empty store.
    async fn new() -> Self;
    /// A handle to the store (each call may open a new connection, as another process would).
    async fn store(&self) -> Arc<dyn Store>;
    /// The URL `anp --store` takes for this store.
    fn url(&self) -> String;
    /// A scratch directory that lives as long as the harness.
    fn dir(&self) -> PathBuf;

    /// Makes the store unreachable — its server killed, or its connections ended and new ones
    /// refused — until [`Harness::start_store`]. `false` (the default): this backend cannot
    /// (SQLite is embedded: there is no server to lose), and the cases that need it say so
    /// and end.
    async fn stop_store(&self) -> bool {
        false
    }

    /// Brings the store [`Harness::stop_store`] stopped back (the same URL), and returns once
    /// it accepts connections; its contents may be gone (a Redis without persistence).
    /// `false` (the default): not supported.
    async fn start_store(&self) -> bool {
        false
    }

    /// Cuts the cache's invalidation feed of every watcher on the store (see [`FeedCut`]);
    /// the default: [`FeedCut::Unsupported`].
    async fn drop_cache_feed(&self) -> FeedCut {
        FeedCut::Unsupported
    }

    /// Ends a [`FeedCut::Held`] cut: watchers may subscribe again.
    async fn restore_cache_feed(&self) {}
}

/// What [`Harness::drop_cache_feed`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedCut {
    /// Nothing: the backend has no subscription to cut (SQLite's feed is a change table each
    /// watcher polls in its own process).
    Unsupported,
    /// Every watcher's subscription was ended and none can be made again until
    /// [`Harness::restore_cache_feed`]: a change published meanwhile reaches no watcher — it is
    /// lost (Redis: `CLIENT KILL TYPE pubsub` and the channel refused by ACL on every node).
    Held,
    /// Every connection the watchers read the feed through was ended; they may reconnect at
    /// once, and so may other clients' connections, whose next call may fail once
    /// (PostgreSQL: every backend of the test's database terminated; its feed is a table read
    /// from a cursor, so nothing published is lost).
    Ended,
}

/// Instantiates every conformance case as a `#[tokio::test]` for harness `$h`; `$anp` is the
/// path of the `anp` binary (`env!("CARGO_BIN_EXE_anp")`) for the real-process cases.
#[macro_export]
macro_rules! conformance_suite {
    ($h:ty, $anp:expr) => {
        $crate::conformance_suite!(@core $h, $anp);
        $crate::conformance_suite!(@schedules_and_stats $h, $anp, ());
    };
    (@core $h:ty, $anp:expr) => {
        // jobs/enqueue.rs
        $crate::conformance_suite!(@store $h;
            enqueue_then_get_round_trips,
            enqueue_in_future_is_scheduled_and_past_is_available,
            same_id_again_is_a_duplicate,
            enqueue_batch_with_an_invalid_job_adds_nothing
        );
        // jobs/fetch.rs
        $crate::conformance_suite!(@store $h;
            fetch_orders_by_priority_then_run_at_then_id,
            fetch_respects_limit_and_queue,
            fetch_skips_paused_queue,
            concurrent_fetchers_never_share_a_job
        );
        // jobs/fetch_queues.rs
        $crate::conformance_suite!(@store $h;
            fetch_queues_splits_limits_in_order,
            fetch_queues_skips_paused_queue,
            fetch_queues_orders_each_queue_by_priority_then_run_at_then_id,
            fetch_queues_fences_each_lease
        );
        // jobs/ack.rs
        $crate::conformance_suite!(@store $h;
            ack_complete,
            ack_retry_records_error_and_reschedules,
            ack_dead_records_not_retry_safe,
            snooze_and_hand_back_give_the_attempt_back,
            ack_cancel,
            ack_batch_applies_each_ack_on_its_own
        );
        // jobs/lease.rs
        $crate::conformance_suite!(@store $h;
            stale_lease_is_rejected_after_rescue,
            heartbeat_extends_only_held_leases,
            rescue_marks_dead_when_attempts_exhausted,
            rescue_honours_its_limit
        );
        // jobs/promote.rs
        $crate::conformance_suite!(@store $h;
            promote_makes_due_jobs_available,
            promote_honours_its_limit
        );
        // jobs/unique.rs
        $crate::conformance_suite!(@store $h;
            unique_key_returns_existing_job,
            unique_key_within_one_batch,
            unique_key_free_again_after_finish_unless_period
        );
        // jobs/retry.rs
        $crate::conformance_suite!(@store $h;
            retry_gives_dead_job_one_more_attempt,
            retry_refuses_while_another_live_job_holds_the_unique_key,
            retry_dead_revives_matching_jobs_and_skips_unique_conflicts
        );
        // jobs/cancel_delete.rs
        $crate::conformance_suite!(@store $h;
            cancel_voids_running_lease_and_refuses_final_jobs,
            delete_refuses_running_jobs_and_unknown_ids,
            unknown_job_is_not_found
        );
        // jobs/list.rs
        $crate::conformance_suite!(@store $h;
            job_list_filters_pages_and_sorts_newest_first,
            job_list_finds_every_state_with_paging
        );
        // queues.rs, purge.rs
        $crate::conformance_suite!(@store $h;
            queue_list_counts_every_state_and_oldest_available,
            purge_deletes_chosen_states_and_never_running,
            purge_pages_by_limit,
            purge_releases_unique_keys,
            purge_refuses_running_and_zero_limit,
            purge_of_unknown_or_empty_queue_is_zero
        );
        // retention.rs
        $crate::conformance_suite!(@store $h;
            prune_by_age_keeps_recent_and_unfinished_jobs,
            prune_by_count_keeps_the_newest_per_queue,
            prune_honours_its_limit_oldest_first,
            prune_with_equal_finish_times_keeps_exactly_max_count
        );
        // export.rs, monitor.rs
        $crate::conformance_suite!(@store $h;
            export_is_a_point_in_time_view,
            ping_reports_backend,
            processes_register_and_go_stale,
            deploy_markers_newest_first,
            audit_entries_newest_first
        );
        // wait.rs
        $crate::conformance_suite!(@store $h;
            job_wait_wakes_on_enqueue_from_another_handle,
            job_wait_wakes_on_enqueue_and_resume_from_the_same_handle,
            job_wait_returns_at_once_when_work_is_waiting,
            job_wait_is_not_ended_by_work_it_cannot_fetch
        );
        // cache/entries.rs
        $crate::conformance_suite!(@store $h;
            cache_write_then_read_round_trips,
            cache_absent_key_reads_none,
            cache_entry_expires_after_its_ttl,
            cache_delete_counts_only_existing_keys,
            cache_purge_prefix_deletes_exactly_the_prefixed_keys,
            cache_purge_prefix_pages_by_limit,
            cache_usage_counts_live_entries,
            cache_prune_keeps_live_data
        );
        // cache/leases.rs
        $crate::conformance_suite!(@store $h;
            cache_lease_is_exclusive_renewable_and_releasable,
            cache_lease_can_be_taken_again_after_expiry,
            cache_lease_renew_extends_it,
            cache_fenced_write_applies_with_the_token_and_ends_the_lease,
            cache_fenced_write_with_a_wrong_or_expired_token_is_lease_lost
        );
        // cache/tags.rs
        $crate::conformance_suite!(@store $h;
            cache_tag_versions_default_to_zero_and_purges_set_them,
            cache_tag_version_expires_after_keep,
            cache_read_returns_tag_versions_and_generation,
            cache_count_tagged_counts_what_a_purge_invalidates
        );
        // cache/generations.rs
        $crate::conformance_suite!(@store $h;
            cache_namespace_register_is_idempotent_and_listed,
            cache_generations_move_forward_and_back,
            cache_generations_hold_independent_entries
        );
        // cache/feed.rs, cache/stats.rs
        $crate::conformance_suite!(@store $h;
            cache_watch_delivers_changes_from_every_handle_in_order,
            cache_watch_stops_when_dropped,
            cache_stats_query_by_range_and_namespace
        );
        // worker.rs
        $crate::conformance_suite!(@store $h;
            worker_applies_every_outcome,
            worker_panic_is_a_failed_attempt,
            worker_retries_until_dead,
            worker_unknown_kind_is_retried,
            worker_unknown_kind_snoozes_while_a_live_worker_declares_it,
            worker_heartbeat_keeps_a_long_job,
            worker_shutdown_lets_short_jobs_finish,
            worker_shutdown_hands_back_after_grace,
            worker_lease_lost_result_is_rejected,
            workers_complete_each_job_exactly_once,
            worker_idle_then_picks_up_new_job,
            worker_fills_every_slot_and_no_more
        );
        // cache/client.rs
        $crate::conformance_suite!(@store $h;
            cache_tag_purge_is_exact,
            cache_stampede_computes_once,
            cache_stale_while_revalidate_refreshes_once,
            cache_stale_if_error_serves_old_value_on_failure,
            cache_l1_is_coherent_across_clients,
            cache_deploy_generation_and_rollback,
            cache_bad_stored_values_are_misses,
            cache_negative_results_are_cached_briefly,
            cache_stats_sum_over_clients,
            cache_dead_store_computes_and_returns,
            cache_l1_recovers_from_a_dropped_feed
        );
        // process.rs
        $crate::conformance_suite!(@process $h, $anp;
            processes_complete_each_job_exactly_once,
            sigkill_mid_job_is_rescued_and_recorded,
            sigterm_hands_back_running_job,
            poison_job_that_kills_workers_ends_dead
        );
    };
    // A backend that lacks a whole area says so, with a reason: its cases are generated as
    // ignored tests carrying that reason (visible in every test run, never silently dropped).
    ($h:ty, $anp:expr, gap(schedules_and_stats) = $reason:literal) => {
        $crate::conformance_suite!(@core $h, $anp);
        $crate::conformance_suite!(@schedules_and_stats $h, $anp, ($reason));
    };
    (@schedules_and_stats $h:ty, $anp:expr, ($($reason:literal)?)) => {
        // monitor.rs, schedule.rs
        $crate::conformance_suite!(@store_gap $h; ($($reason)?);
            stats_count_enqueues_and_outcomes,
            stats_leave_out_the_lost_ack_of_a_batch,
            schedule_tick_is_claimed_once,
            schedule_overlap_skips_while_previous_runs,
            schedule_fire_log_records_decisions_and_is_bounded,
            schedule_sync_pause_list_delete,
            schedule_moved_to_another_queue_keeps_its_state,
            three_schedulers_fire_each_tick_once
        );
        $crate::conformance_suite!(@process_gap $h, $anp; ($($reason)?);
            schedulers_killed_at_random_fire_each_tick_once
        );
    };
    (@store_gap $h:ty; ($($reason:literal)?); $($case:ident),* $(,)?) => {
        $crate::conformance_suite!(@gen $h, cases, (); [$(#[ignore = $reason])?]; $($case),*);
    };
    (@process_gap $h:ty, $anp:expr; ($($reason:literal)?); $($case:ident),* $(,)?) => {
        $crate::conformance_suite!(@gen $h, process, ($anp); [$(#[ignore = $reason])?]; $($case),*);
    };
    // One test per case, one case at a time (the attributes repeat per case).
    (@gen $h:ty, $module:ident, ($($anp:expr)?); [$($attr:tt)*]; $case:ident $(, $rest:ident)* $(,)?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attr)*
        async fn $case() {
            let h = <$h as $crate::Harness>::new().await;
            $crate::$module::$case(&h $(, std::path::Path::new($anp))?).await;
        }
        $crate::conformance_suite!(@gen $h, $module, ($($anp)?); [$($attr)*]; $($rest),*);
    };
    (@gen $h:ty, $module:ident, ($($anp:expr)?); [$($attr:tt)*];) => {};
    (@store $h:ty; $($case:ident),* $(,)?) => {
        $crate::conformance_suite!(@store_gap $h; (); $($case),*);
    };
    (@process $h:ty, $anp:expr; $($case:ident),* $(,)?) => {
        $crate::conformance_suite!(@process_gap $h, $anp; (); $($case),*);
    };
}

/// Every store and worker case, under one path for the macro.
pub mod cases {
    pub use crate::cache::client::*;
    pub use crate::cache::entries::*;
    pub use crate::cache::feed::*;
    pub use crate::cache::generations::*;
    pub use crate::cache::leases::*;
    pub use crate::cache::stats::*;
    pub use crate::cache::tags::*;
    pub use crate::export::*;
    pub use crate::jobs::ack::*;
    pub use crate::jobs::cancel_delete::*;
    pub use crate::jobs::enqueue::*;
    pub use crate::jobs::fetch::*;
    pub use crate::jobs::fetch_queues::*;
    pub use crate::jobs::lease::*;
    pub use crate::jobs::list::*;
    pub use crate::jobs::promote::*;
    pub use crate::jobs::retry::*;
    pub use crate::jobs::unique::*;
    pub use crate::monitor::*;
    pub use crate::purge::*;
    pub use crate::queues::*;
    pub use crate::retention::*;
    pub use crate::schedule::*;
    pub use crate::wait::*;
    pub use crate::worker::*;
}
