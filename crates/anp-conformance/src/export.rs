//! Export: every job once, as of one instant per queue, while the store keeps changing.

use anp_core::store::{AckOutcome, JobHeartbeatManyParams, JobListParams};
use anp_core::JobState;

use crate::util::{ack, enqueue, err, fetch, new_job, now, plus, purge};
use crate::Harness;

/// Every job, as `job_list` shows it now, keyed by id (as JSON, to compare every field).
async fn all_jobs(
    s: &dyn anp_core::Store,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    s.job_list(JobListParams {
        limit: 100_000,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .map(|j| {
        let v = serde_json::to_value(&j).unwrap_or_else(|e| panic!("{e}"));
        (j.id.to_string(), v)
    })
    .collect()
}

/// `job_export` hands out every job once, exactly as it was when the export began, while jobs
/// are enqueued, fetched, acked (with errors), heartbeated, cancelled and deleted during it;
/// afterwards the store works on (a second export sees the new state). The changes touch the
/// queue being exported: the contract is one instant per queue (Redis exports queue after
/// queue; SQLite gives one instant for the whole store).
pub async fn export_is_a_point_in_time_view<H: Harness>(h: &H) {
    use anp_core::store::JobExportParams;
    let s = h.store().await;
    let now = now();
    enqueue(&*s, (0..300).map(|i| new_job("a", "exp", i)).collect(), now).await;
    enqueue(
        &*s,
        (0..40).map(|i| new_job("b", "other", i)).collect(),
        now,
    )
    .await;
    let running = fetch(&*s, "exp", 100, now).await;
    for j in &running[..50] {
        ack(&*s, j, AckOutcome::Complete, plus(now, 1)).await;
    }
    for j in &running[50..60] {
        let error = err(1, plus(now, 1), "boom", true);
        let at = plus(now, 60);
        ack(&*s, j, AckOutcome::Retry { at, error }, plus(now, 1)).await;
    }
    let before = all_jobs(&*s).await;
    assert_eq!(before.len(), 340);

    let handle = tokio::runtime::Handle::current();
    let s2 = s.clone();
    let mut got: Vec<anp_core::Job> = Vec::new();
    let mut pages = 0;
    let n = s
        .job_export(JobExportParams { page: 25 }, &mut |page| {
            pages += 1;
            got.extend(page);
            if pages == 1 {
                // Change the store in every way while the export is under way.
                tokio::task::block_in_place(|| {
                    handle.block_on(async {
                        let t = plus(now, 2);
                        enqueue(
                            &*s2,
                            (0..20).map(|i| new_job("a", "exp", 1000 + i)).collect(),
                            t,
                        )
                        .await;
                        for j in &running[60..80] {
                            ack(&*s2, j, AckOutcome::Complete, t).await;
                        }
                        for j in &running[80..85] {
                            let error = err(1, t, "late", false);
                            ack(&*s2, j, AckOutcome::Dead { error }, t).await;
                        }
                        s2.job_heartbeat_many(JobHeartbeatManyParams {
                            leases: running[85..90].iter().filter_map(|j| j.lease()).collect(),
                            lease_until: plus(now, 600),
                        })
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                        for j in &running[..10] {
                            s2.job_delete(j.id).await.unwrap_or_else(|e| panic!("{e}"));
                        }
                        for j in &running[50..55] {
                            s2.job_cancel(j.id, t)
                                .await
                                .unwrap_or_else(|e| panic!("{e}"));
                        }
                        // 55..60 are retryable: the purge takes 3 of them.
                        assert_eq!(purge(&*s2, "exp", &[JobState::Retryable], 3).await, 3);
                        let more = fetch(&*s2, "exp", 30, t).await;
                        assert_eq!(more.len(), 30);
                    })
                });
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("export: {e}"));
    assert!(
        pages > 1,
        "the export took {pages} page(s): the test needs several"
    );
    assert_eq!(n as usize, got.len());
    let mut exported = std::collections::BTreeMap::new();
    for j in got {
        let v = serde_json::to_value(&j).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            exported.insert(j.id.to_string(), v).is_none(),
            "job {} exported twice",
            j.id
        );
    }
    let missing: Vec<_> = before
        .keys()
        .filter(|k| !exported.contains_key(*k))
        .collect();
    let extra: Vec<_> = exported
        .keys()
        .filter(|k| !before.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (id, v) in &before {
        assert_eq!(
            Some(v),
            exported.get(id),
            "job {id} differs from the instant the export began"
        );
    }

    // Afterwards: writes work, and a new export sees the current state.
    let after = all_jobs(&*s).await;
    assert_eq!(after.len(), 340 + 20 - 10 - 3);
    let mut again = std::collections::BTreeMap::new();
    s.job_export(JobExportParams::default(), &mut |page| {
        for j in page {
            let v = serde_json::to_value(&j).unwrap_or_else(|e| panic!("{e}"));
            again.insert(j.id.to_string(), v);
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| panic!("second export: {e}"));
    assert_eq!(again, after);
}
