//! Cases with real `anp work` processes on the backend: exactly-once across processes, and
//! crash safety with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alphanode::{Args, Client, EnqueueOptions};
use anp_core::{JobId, JobState};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::util::{k, wait_for, wait_state};
use crate::Harness;

/// A running `anp work`, killed (whole process group) when dropped.
#[derive(Debug)]
pub struct AnpProcess {
    child: Child,
    /// Its stderr log.
    pub log: PathBuf,
}

impl AnpProcess {
    /// Starts `anp --store URL work --config CONFIG` in its own process group.
    pub fn work(anp: &Path, url: &str, config: &Path, log: PathBuf) -> AnpProcess {
        AnpProcess::spawn(anp, url, "work", config, log)
    }

    /// Starts `anp --store URL scheduler --config CONFIG` in its own process group.
    pub fn scheduler(anp: &Path, url: &str, config: &Path, log: PathBuf) -> AnpProcess {
        AnpProcess::spawn(anp, url, "scheduler", config, log)
    }

    fn spawn(anp: &Path, url: &str, command: &str, config: &Path, log: PathBuf) -> AnpProcess {
        use std::os::unix::process::CommandExt;
        let stderr =
            std::fs::File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let child = Command::new(anp)
            .args(["--store", url, command, "--config"])
            .arg(config)
            .env("ANP_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", anp.display()));
        AnpProcess { child, log }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX))
    }

    /// Sends a signal to the process itself (not its job commands).
    pub fn signal(&self, s: Signal) {
        let _ = kill(self.pid(), s);
    }

    /// Whether it has exited (reaping it).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for exit up to `deadline`.
    pub async fn wait_exit(&mut self, deadline: Duration) -> std::process::ExitStatus {
        let start = std::time::Instant::now();
        loop {
            if let Some(s) = self.exited() {
                return s;
            }
            if start.elapsed() > deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("anp work did not exit within {deadline:?}; log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for AnpProcess {
    fn drop(&mut self) {
        let _ = killpg(self.pid(), Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}

async fn enqueue(c: &Client, kind: &str, max_attempts: u32) -> JobId {
    c.enqueue_raw(
        k(kind),
        Args::empty_object(),
        EnqueueOptions {
            max_attempts: Some(max_attempts),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .id
}

/// Waits (in wall time, with a deadline) until `job`'s lease, if it has one, has expired.
async fn wait_until_lease_expired(job: &anp_core::Job) {
    let Some(expiry) = job.lease_expires_at else {
        return;
    };
    wait_for(
        "the lease to expire",
        Duration::from_secs(30),
        || async move { (jiff::Timestamp::now() > expiry).then_some(()) },
    )
    .await;
}

fn kill_pid_file(path: &Path) {
    if let Some(pid) = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Three `anp work` processes share 300 command jobs: every job ran exactly once, none lost.
pub async fn processes_complete_each_job_exactly_once<H: Harness>(h: &H, anp: &Path) {
    let dir = h.dir();
    let out = dir.join("ran.txt");
    let config = write_config(
        &dir,
        "anp.toml",
        &format!(
            "[[queue]]\nname = \"default\"\nconcurrency = 4\n\n[[job]]\nkind = \"record\"\ncommand = [\"sh\", \"-c\", \"echo $ANP_JOB_ID >> {}\"]\n",
            out.display()
        ),
    );
    let store = h.store().await;
    let c = Client::new(store.clone());
    let n = 300;
    let jobs = (0..n)
        .map(|_| c.new_raw_job(k("record"), Args::empty_object(), EnqueueOptions::default()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<JobId> = c
        .insert_many(jobs)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut procs: Vec<AnpProcess> = (0..3)
        .map(|i| AnpProcess::work(anp, &h.url(), &config, dir.join(format!("work{i}.log"))))
        .collect();
    wait_for("all 300 jobs completed", Duration::from_secs(120), || {
        let store = store.clone();
        async move {
            let q = store.queue_list().await.ok()?;
            let done: u64 = q
                .iter()
                .map(|q| q.counts.get(&JobState::Completed).copied().unwrap_or(0))
                .sum();
            (done == n as u64).then_some(())
        }
    })
    .await;
    for p in &procs {
        p.signal(Signal::SIGTERM);
    }
    for p in &mut procs {
        let status = p.wait_exit(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "anp work exited with {status} after SIGTERM"
        );
    }
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let mut counts = std::collections::HashMap::new();
    for line in text.lines() {
        *counts.entry(line.trim().to_owned()).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), n, "every job ran");
    for id in ids {
        assert_eq!(
            counts.get(&id.to_string()),
            Some(&1),
            "job {id} ran {:?} times",
            counts.get(&id.to_string())
        );
    }
}

/// `anp work` is SIGKILLed in the middle of a job: another worker rescues the job once the
/// lease expired, completes it, and the history records the lost attempt.
pub async fn sigkill_mid_job_is_rescued_and_recorded<H: Harness>(h: &H, anp: &Path) {
    let dir = h.dir();
    let mark = dir.join("started");
    let pidfile = dir.join("child.pid");
    let config = write_config(
        &dir,
        "anp.toml",
        &format!(
            "[worker]\nlease = \"1s\"\n\n[[job]]\nkind = \"slow\"\ncommand = [\"sh\", \"-c\", \"if [ \\\"$ANP_ATTEMPT\\\" = 1 ]; then echo $$ > {pid}; touch {mark}; sleep 120; fi; exit 0\"]\n",
            pid = pidfile.display(),
            mark = mark.display()
        ),
    );
    let store = h.store().await;
    let id = enqueue(&Client::new(store.clone()), "slow", 5).await;
    let mut first = AnpProcess::work(anp, &h.url(), &config, dir.join("first.log"));
    wait_for(
        "the first attempt to start",
        Duration::from_secs(30),
        || {
            let mark = mark.clone();
            async move { mark.exists().then_some(()) }
        },
    )
    .await;
    first.signal(Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10)).await;
    kill_pid_file(&pidfile);
    let running = store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        running.state,
        JobState::Running,
        "the killed worker still holds the lease"
    );
    // The next worker's rescuer makes its first pass at start: start it once the lease expired.
    wait_until_lease_expired(&running).await;
    let _second = AnpProcess::work(anp, &h.url(), &config, dir.join("second.log"));
    let j = wait_state(&store, id, JobState::Completed, Duration::from_secs(60)).await;
    assert_eq!(j.attempt, 2);
    assert_eq!(j.errors.len(), 1, "{:?}", j.errors);
    assert_eq!(j.errors[0].attempt, 1);
    assert!(j.errors[0].retry_safe);
    assert!(
        j.errors[0].message.contains("lease expired"),
        "{}",
        j.errors[0].message
    );
}

/// SIGTERM with a job still running past the grace period: the process exits cleanly and the
/// job is back in the queue with its attempt not spent.
pub async fn sigterm_hands_back_running_job<H: Harness>(h: &H, anp: &Path) {
    let dir = h.dir();
    let mark = dir.join("started");
    let config = write_config(
        &dir,
        "anp.toml",
        &format!(
            "[worker]\ngrace = \"100ms\"\n\n[[job]]\nkind = \"slow\"\ncommand = [\"sh\", \"-c\", \"touch {mark}; sleep 120\"]\n",
            mark = mark.display()
        ),
    );
    let store = h.store().await;
    let id = enqueue(&Client::new(store.clone()), "slow", 5).await;
    let mut p = AnpProcess::work(anp, &h.url(), &config, dir.join("work.log"));
    wait_for("the job to start", Duration::from_secs(30), || {
        let mark = mark.clone();
        async move { mark.exists().then_some(()) }
    })
    .await;
    p.signal(Signal::SIGTERM);
    let status = p.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status}");
    let j = store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(j.state, JobState::Available);
    assert_eq!(j.attempt, 0);
    assert!(j.errors.is_empty(), "{:?}", j.errors);
}

/// A job whose command SIGKILLs its own worker every time ends dead after `max_attempts`
/// instead of looping forever.
pub async fn poison_job_that_kills_workers_ends_dead<H: Harness>(h: &H, anp: &Path) {
    let dir = h.dir();
    let config = write_config(
        &dir,
        "anp.toml",
        "[worker]\nlease = \"1s\"\n\n[[job]]\nkind = \"poison\"\ncommand = [\"sh\", \"-c\", \"kill -9 $PPID; sleep 5\"]\n",
    );
    let store = h.store().await;
    let id = enqueue(&Client::new(store.clone()), "poison", 2).await;
    let mut n = 0;
    let mut current = AnpProcess::work(anp, &h.url(), &config, dir.join("w0.log"));
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let j = store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
        if j.state == JobState::Dead {
            assert_eq!(j.attempt, 2);
            assert_eq!(j.errors.len(), 2, "{:?}", j.errors);
            assert!(j.errors.iter().all(|e| e.message.contains("lease expired")));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job still {} after 90s",
            j.state
        );
        if current.exited().is_some() {
            n += 1;
            assert!(n <= 4, "workers were killed {n} times: the job loops");
            // The next worker's rescuer makes its first pass at start: start it once the killed
            // worker's lease expired, so that pass takes the job back.
            let j = store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
            wait_until_lease_expired(&j).await;
            current = AnpProcess::work(anp, &h.url(), &config, dir.join(format!("w{n}.log")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Three `anp scheduler` processes on a per-second schedule, one SIGKILLed and restarted every
/// 0.3–1.5 s for `ANP_SOAK_SECS` seconds (default 10; about ten kills): every tick fires
/// exactly once, with no gap. (The closing note of the scheduler issue quotes a 3-minute run:
/// `ANP_SOAK_SECS=180`.)
pub async fn schedulers_killed_at_random_fire_each_tick_once<H: Harness>(h: &H, anp: &Path) {
    use rand::Rng;
    let secs: u64 = std::env::var("ANP_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = h.dir();
    let config = write_config(
        &dir,
        "anp.toml",
        "[[schedule]]\nname = \"per-second\"\ncron = \"* * * * * *\"\nkind = \"tick\"\n",
    );
    let mut procs: Vec<AnpProcess> = (0..3)
        .map(|i| AnpProcess::scheduler(anp, &h.url(), &config, dir.join(format!("s{i}.log"))))
        .collect();
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    let mut kills = 0;
    while std::time::Instant::now() < end {
        let (pause, victim) = {
            let mut rng = rand::rng();
            (
                rng.random_range(300..1500),
                rng.random_range(0..procs.len()),
            )
        };
        // Wall time by design: the kills must land at random phases of the per-second ticks
        // (mid-claim included), which waiting on a condition would not give.
        tokio::time::sleep(Duration::from_millis(pause)).await;
        procs[victim].signal(Signal::SIGKILL);
        procs[victim].wait_exit(Duration::from_secs(10)).await;
        kills += 1;
        procs[victim] = AnpProcess::scheduler(
            anp,
            &h.url(),
            &config,
            dir.join(format!("s{victim}-{kills}.log")),
        );
    }
    for p in &procs {
        let log = p.log.clone();
        wait_for("the scheduler to start", Duration::from_secs(30), || {
            let log = log.clone();
            async move {
                std::fs::read_to_string(&log)
                    .ok()?
                    .contains("scheduler started")
                    .then_some(())
            }
        })
        .await;
        p.signal(Signal::SIGTERM);
    }
    for p in &mut procs {
        let status = p.wait_exit(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "anp scheduler exited with {status} after SIGTERM"
        );
    }
    let store = h.store().await;
    let name =
        anp_core::schedule::ScheduleName::parse("per-second").unwrap_or_else(|e| panic!("{e}"));
    let (_, log) = store
        .schedule_get(name, 100_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let n =
        crate::schedule::check_every_tick_once(&*store, &log, (secs as usize).saturating_sub(3))
            .await;
    eprintln!("schedulers: {kills} SIGKILLs over {secs}s; {n} ticks fired, each once");
}
