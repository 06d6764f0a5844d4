//! The worker of phases B and C: this binary's `anp work`, started as separate processes
//! (`--workers`) on a config naming the bench's queues and the builtin `noop` kind, stopped
//! with SIGTERM, its peak RSS read from `/proc`.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alphanode::{Error, QueueName};
use nix::sys::signal::Signal;

use super::report::round;
use super::Bench;

/// The worker config: the builtin noop kind and the queues. One queue: that queue with
/// `--concurrency` (the standard workload). Several: each queue may use all `--concurrency`
/// slots and `worker.max_concurrency` caps the total at `--concurrency`; equal weights, so
/// free slots are offered to the queues in a fresh random order each round. Written by hand, not
/// with `toml`: queue names are `[a-z0-9_-]` ([`QueueName`]), so nothing needs escaping, and the
/// text stays exactly as the tests below pin it. `keep` (`--churn`): the workers prune, keeping
/// finished jobs that long (`worker.keep_finished_for`, whole seconds).
fn worker_config(qs: &[QueueName], c: u64, keep: Option<Duration>) -> String {
    let keep = keep
        .map(|k| format!("keep_finished_for = \"{}s\"\n", k.as_secs().max(1)))
        .unwrap_or_default();
    if let [q] = qs {
        let worker = if keep.is_empty() {
            String::new()
        } else {
            format!("[worker]\n{keep}\n")
        };
        return format!(
            "# anp bench: one queue, the builtin noop kind.\n{worker}\
             [[queue]]\nname = \"{q}\"\nconcurrency = {c}\n\n\
             [[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n"
        );
    }
    let mut text = format!(
        "# anp bench: {} queues sharing {c} slots, the builtin noop kind.\n\
         [worker]\nmax_concurrency = {c}\n{keep}\n",
        qs.len()
    );
    for q in qs {
        text.push_str(&format!("[[queue]]\nname = \"{q}\"\nconcurrency = {c}\n\n"));
    }
    text.push_str("[[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n");
    text
}

impl Bench {
    /// Starts `--workers` processes of `anp work` serving the queues, without maintenance.
    pub(super) fn spawn_workers(&self, qs: &[QueueName]) -> Result<Workers, Error> {
        self.spawn_workers_pruning(qs, None)
    }

    /// Starts `--workers` processes of `anp work` serving the queues; with `keep`, their
    /// maintenance runs too (pruning finished jobs older than `keep` in every queue of the
    /// store, rescuing, promoting), else `--no-maintenance`.
    pub(super) fn spawn_workers_pruning(
        &self,
        qs: &[QueueName],
        keep: Option<Duration>,
    ) -> Result<Workers, Error> {
        let first = qs
            .first()
            .ok_or_else(|| Error::internal("bench", "no queue to serve: expected at least one"))?;
        let config = self.dir.join(format!("{first}.toml"));
        let io =
            |what: &str, e: std::io::Error| Error::internal("bench", format!("cannot {what}: {e}"));
        std::fs::write(&config, worker_config(qs, self.plan.concurrency, keep))
            .map_err(|e| io("write the worker config", e))?;
        let count = self.plan.workers;
        let mut procs = Vec::new();
        for k in 1..=count {
            let (log_path, label) = if count == 1 {
                (
                    self.dir.join(format!("{first}.log")),
                    "the worker".to_owned(),
                )
            } else {
                (
                    self.dir.join(format!("{first}-w{k}.log")),
                    format!("worker {k} of {count}"),
                )
            };
            let log = File::create(&log_path).map_err(|e| io("create the worker log", e))?;
            let mut cmd = Command::new(&self.exe);
            cmd.arg("work").arg("--config").arg(&config);
            if keep.is_none() {
                cmd.arg("--no-maintenance");
            }
            let child = cmd
                .arg("--no-scheduler")
                .env("ANP_STORE", &self.url)
                .env("ANP_LOG", "warn")
                .env_remove("ANP_CONFIG")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| io(&format!("start the worker {}", self.exe.display()), e))?;
            procs.push(WorkerProc {
                child,
                log: log_path,
                label,
            });
        }
        Ok(Workers { procs })
    }
}

/// The worker child process. Dropping it stops the process (SIGTERM, then SIGKILL).
#[derive(Debug)]
struct WorkerProc {
    child: Child,
    log: PathBuf,
    /// `the worker`, or `worker <k> of <n>`: how messages name it.
    label: String,
}

impl WorkerProc {
    fn signal(&self, sig: Signal) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let tail = crate::runners::tail(&text, 2048);
        if tail.is_empty() {
            "(empty)".to_owned()
        } else {
            tail
        }
    }

    /// An error if the worker has exited.
    fn check_alive(&mut self) -> Result<(), Error> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::internal(
                "bench",
                format!(
                    "{} exited early ({status}): expected it to run until stopped; its log: {}",
                    self.label,
                    self.log_tail()
                ),
            )),
            Err(e) => Err(Error::internal(
                "bench",
                format!("cannot check the process of {}: {e}", self.label),
            )),
        }
    }

    /// Peak resident memory so far (`VmHWM`), in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        status_mib(self.child.id(), "VmHWM")
    }

    /// Waits for the exit after SIGTERM; an error if it does not exit cleanly by `deadline`.
    async fn wait_stopped(&mut self, deadline: Instant) -> Result<(), Error> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(Error::internal(
                        "bench",
                        format!(
                            "{} exited with {status} on SIGTERM: expected exit 0; its log: {}",
                            self.label,
                            self.log_tail()
                        ),
                    ))
                }
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Ok(None) => {
                    return Err(Error::internal(
                        "bench",
                        format!(
                            "{} did not exit within 30 s of SIGTERM: expected a graceful stop",
                            self.label
                        ),
                    ))
                }
                Err(e) => {
                    return Err(Error::internal(
                        "bench",
                        format!("cannot wait for {}: {e}", self.label),
                    ))
                }
            }
        }
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        // Graceful first, so its running jobs are handed back rather than left leased.
        self.signal(Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The worker processes of one phase (`--workers`), in spawn order.
#[derive(Debug)]
pub(super) struct Workers {
    procs: Vec<WorkerProc>,
}

impl Workers {
    /// An error if any worker has exited.
    pub(super) fn check_alive(&mut self) -> Result<(), Error> {
        self.procs.iter_mut().try_for_each(WorkerProc::check_alive)
    }

    /// How messages name them all: `the worker`, or `the <n> workers`.
    pub(super) fn who(&self) -> String {
        if self.procs.len() == 1 {
            "the worker".to_owned()
        } else {
            format!("the {} workers", self.procs.len())
        }
    }

    /// The end of every worker's log, each named when there are several.
    pub(super) fn log_tail(&self) -> String {
        if let [one] = self.procs.as_slice() {
            return one.log_tail();
        }
        self.procs
            .iter()
            .map(|p| format!("[{}] {}", p.label, p.log_tail()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Each worker's peak RSS in MiB, or empty when any of them cannot be read.
    pub(super) fn peak_rss_mib(&self) -> Vec<f64> {
        self.procs
            .iter()
            .map(WorkerProc::peak_rss_mib)
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default()
    }

    /// Graceful stop of all (SIGTERM to each, then wait); an error if one does not exit
    /// cleanly within 30 s. Workers not waited for are stopped by their Drop.
    pub(super) async fn stop(mut self) -> Result<(), Error> {
        for p in &self.procs {
            p.signal(Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for p in &mut self.procs {
            p.wait_stopped(deadline).await?;
        }
        Ok(())
    }
}

/// A memory figure of process `pid` from `/proc/<pid>/status` (`field`: `VmRSS`, `VmHWM`, …),
/// in MiB with two decimals; `None` when the process or the field is gone.
pub(super) fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(round(kib / 1024.0, 2))
}

#[cfg(test)]
mod tests {
    use super::super::plan::test_queues;
    use super::*;

    #[test]
    fn one_queue_config_is_the_standard_one() {
        let qs = test_queues(1);
        assert_eq!(
            worker_config(&qs, 50, None),
            "# anp bench: one queue, the builtin noop kind.\n\
             [[queue]]\nname = \"anp-bench-0123456789ab-0\"\nconcurrency = 50\n\n\
             [[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n"
        );
    }

    #[test]
    fn many_queues_share_the_concurrency() {
        let text = worker_config(&test_queues(3), 50, None);
        assert!(text.contains("[worker]\nmax_concurrency = 50\n"), "{text}");
        assert_eq!(text.matches("[[queue]]").count(), 3, "{text}");
        assert_eq!(text.matches("concurrency = 50\n").count(), 4, "{text}");
        assert!(
            text.contains("name = \"anp-bench-0123456789ab-2\""),
            "{text}"
        );
    }

    #[test]
    fn churn_workers_keep_finished_jobs_as_asked() {
        let one = worker_config(&test_queues(1), 50, Some(Duration::from_secs(60)));
        assert!(
            one.contains("[worker]\nkeep_finished_for = \"60s\"\n\n[[queue]]"),
            "{one}"
        );
        let three = worker_config(&test_queues(3), 50, Some(Duration::from_millis(10)));
        assert!(
            three.contains("max_concurrency = 50\nkeep_finished_for = \"1s\"\n"),
            "{three}"
        );
    }
}
