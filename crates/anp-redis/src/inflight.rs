//! What this process knows about the jobs it leased, so that completing one costs the server
//! no record parsing: the completed record is built here and sent with the ack.
//!
//! While a job holds a lease (layout 2, docs/redis-keys.md), nothing rewrites its record: the
//! only ways out of `running` drop the lease first (ack, rescue, cancel), and an ack is applied
//! only under the lease's own token. So the record `job_fetch.lua` returned is still the stored
//! one when the ack for that token arrives, and its completed form is known at fetch time except
//! for `finalized_at`. [`Inflight`] keeps that form per (id, token) from fetch to ack; an ack
//! whose entry is missing (acked by another process, or dropped by the bound below) sends no
//! record, and the script builds it from the stored record as before.

use std::collections::HashMap;
use std::sync::Mutex;

use anp_core::JobId;

/// At most this many entries; reaching it empties the map (acks of the dropped entries take
/// the script's general path: correct, only slower). Only a process that leases jobs and never
/// acks them could fill it.
const MAX_ENTRIES: usize = 100_000;

/// A completed record but for `finalized_at`: `completed <priority> <attempt> <max_attempts>
/// <run_at> <created_at> <attempted_at>` and ` - - <kind>[ <flags>]`, as one text with the
/// position where `finalized_at` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    text: String,
    /// `text[..at]` is the head, `text[at..]` the tail.
    at: usize,
}

impl Completion {
    /// From the record text `job_fetch.lua` returned (the job before this attempt: 11 fields,
    /// or 12 with the flags `+[e-][u-]` of `lua/lib.lua`) and the attempt's start (`now`, µs):
    /// `None` for a record in any other shape. Fields are copied as text (only the attempt is
    /// recomputed), as the script would. Built without `core::fmt` (this runs for every
    /// fetched job).
    pub(crate) fn of_fetched(record: &str, attempted_at: i64) -> Option<Completion> {
        // a 13th field (the rest of the text) means more than 12
        let (f, n) = crate::record::split_fields::<13>(record);
        if !(11..=12).contains(&n) || f[..n].iter().any(|s| s.is_empty()) {
            return None;
        }
        if n == 12 {
            let b = f[11].as_bytes();
            let ok = b.len() == 3
                && b[0] == b'+'
                && matches!(b[1], b'e' | b'-')
                && matches!(b[2], b'u' | b'-');
            if !ok {
                return None;
            }
        }
        if !f[1..6]
            .iter()
            .all(|s| s.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let attempt: u64 = f[2].parse().ok()?;
        let mut ints = itoa::Buffer::new();
        let mut text = String::with_capacity(record.len() + 48);
        text.push_str("completed ");
        text.push_str(f[1]);
        text.push(' ');
        text.push_str(ints.format(attempt.checked_add(1)?));
        for x in &f[3..6] {
            text.push(' ');
            text.push_str(x);
        }
        text.push(' ');
        text.push_str(ints.format(attempted_at));
        let at = text.len();
        text.push_str(" - - ");
        text.push_str(f[10]);
        if n == 12 {
            text.push(' ');
            text.push_str(f[11]);
        }
        Some(Completion { text, at })
    }

    /// The completed record with `finalized_at` (µs).
    pub(crate) fn record(&self, finalized_at: i64) -> String {
        let mut ints = itoa::Buffer::new();
        let fin = ints.format(finalized_at);
        let mut out = String::with_capacity(self.text.len() + 1 + fin.len());
        out.push_str(&self.text[..self.at]);
        out.push(' ');
        out.push_str(fin);
        out.push_str(&self.text[self.at..]);
        out
    }
}

/// Completions of the jobs this process leased, by (id, token).
#[derive(Debug, Default)]
pub(crate) struct Inflight {
    map: Mutex<HashMap<(JobId, i64), Completion, foldhash::fast::RandomState>>,
}

impl Inflight {
    /// Remembers a fetched batch.
    pub(crate) fn add(&self, batch: impl IntoIterator<Item = ((JobId, i64), Completion)>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        for (k, c) in batch {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(k, c);
        }
    }

    /// Takes the completion of job `id` leased under `token`, if this process fetched it.
    pub(crate) fn take(&self, id: JobId, token: i64) -> Option<Completion> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(id, token))
    }

    /// Entries held (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builds_what_the_script_builds_and_refuses_other_shapes() {
        let c = Completion::of_fetched(
            "available 3 1 25 1732550400000001 1732550400000000 1732550300000000 - - - email.send",
            1732550401000000,
        )
        .unwrap();
        assert_eq!(
            c.record(1732550402000000),
            "completed 3 2 25 1732550400000001 1732550400000000 1732550401000000 1732550402000000 - - email.send"
        );
        let flagged = Completion::of_fetched(
            "available 3 1 25 1732550400000001 1732550400000000 - - - - email.send +e-",
            7,
        )
        .unwrap();
        assert_eq!(
            flagged.record(8),
            "completed 3 2 25 1732550400000001 1732550400000000 7 8 - - email.send +e-"
        );
        for bad in [
            "running 3 1 25 1 1 1 - 7 9 k owner",
            "available 3 1 25 1 1 - - - - k +x-",
            "available 3 1 25 1 1 - - - - k +e- more",
            "available 3 x 25 1 1 - - - - k",
            "available 3 1 25 1 1 - - - -",
            "available  1 25 1 1 - - - - k",
        ] {
            assert_eq!(Completion::of_fetched(bad, 5), None, "{bad}");
        }
    }

    #[test]
    fn takes_each_entry_once_and_stays_bounded() {
        let inflight = Inflight::default();
        let c = Completion::of_fetched("available 0 0 1 1 1 - - - - k", 2).unwrap();
        let id = JobId::new();
        inflight.add([((id, 7), c.clone())]);
        assert_eq!(inflight.take(id, 8), None);
        assert_eq!(inflight.take(id, 7), Some(c.clone()));
        assert_eq!(inflight.take(id, 7), None);
        inflight.add((0..MAX_ENTRIES as i64 + 5).map(|t| ((id, t), c.clone())));
        assert!(inflight.len() <= MAX_ENTRIES);
    }
}
