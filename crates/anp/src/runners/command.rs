//! Command jobs.
//!
//! The command runs with the job's args as JSON on stdin and `ANP_JOB_ID`, `ANP_JOB_KIND`,
//! `ANP_QUEUE`, `ANP_ATTEMPT` and `ANP_MAX_ATTEMPTS` in its environment, in its own process
//! group. The exit code decides the outcome:
//!
//! | exit | outcome |
//! |---|---|
//! | 0 | completed |
//! | 75 (`EX_TEMPFAIL`) | retry later: a retry-safe failure; a line `anp-retry-after: <duration>` on stdout sets the delay, else backoff |
//! | 65 (`EX_DATAERR`) | failed permanently (not retry-safe): the job goes dead |
//! | other / killed / timed out | failed attempt, retried with backoff |
//!
//! The last 2 KiB of stdout and stderr are kept in the error history.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use alphanode::handler::HandlerFuture;
use alphanode::{JobContext, Outcome, RawHandler, RetryPolicy};
use tokio::io::AsyncWriteExt;

use super::tail;

/// Exit code meaning "retry later".
pub const EXIT_RETRY: i32 = 75;
/// Exit code meaning "failed permanently, not retry-safe".
pub const EXIT_FAIL: i32 = 65;
const TAIL: usize = 2048;

/// Runs a job as a command.
#[derive(Debug, Clone)]
pub struct CommandHandler {
    /// argv.
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub dir: Option<PathBuf>,
    /// Kill the command after this long.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl RawHandler for CommandHandler {
    fn call(&self, ctx: JobContext) -> HandlerFuture {
        let this = self.clone();
        Box::pin(async move { this.run(ctx).await })
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry.clone()
    }
}

impl CommandHandler {
    async fn run(self, ctx: JobContext) -> Result<Outcome, String> {
        let job = ctx.job();
        let mut cmd = tokio::process::Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .envs(&self.env)
            .env("ANP_JOB_ID", job.id.to_string())
            .env("ANP_JOB_KIND", job.kind.as_str())
            .env("ANP_QUEUE", job.queue.as_str())
            .env("ANP_ATTEMPT", job.attempt.to_string())
            .env("ANP_MAX_ATTEMPTS", job.max_attempts.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start command {:?}: {e}", self.argv[0]))?;
        let pid = child.id();
        let input = job.args.as_json().as_bytes().to_vec();
        let mut stdin = child.stdin.take();
        let feed = async move {
            if let Some(s) = stdin.as_mut() {
                // A command that doesn't read stdin closes it early: not an error.
                let _ = s.write_all(&input).await;
                let _ = s.shutdown().await;
            }
            drop(stdin);
        };
        let run = async {
            let (_, out) = tokio::join!(feed, child.wait_with_output());
            out
        };
        let result = tokio::select! {
            r = tokio::time::timeout(self.timeout, run) => r,
            _ = ctx.cancelled() => {
                kill_group(pid);
                return Err("stopped: worker shutting down or lease lost".to_owned());
            }
        };
        let output = match result {
            Err(_) => {
                kill_group(pid);
                return Err(format!(
                    "timed out after {:?}: command killed",
                    self.timeout
                ));
            }
            Ok(Err(e)) => return Err(format!("waiting for the command failed: {e}")),
            Ok(Ok(o)) => o,
        };
        // The process group may have children left; they are not part of the job anymore.
        kill_group(pid);
        let code = output.status.code();
        let describe = |what: &str| {
            format!(
                "{what}; stdout: {:?}; stderr: {:?}",
                tail(&output.stdout, TAIL),
                tail(&output.stderr, TAIL)
            )
        };
        match code {
            Some(0) => Ok(Outcome::Complete),
            Some(EXIT_RETRY) => {
                let after = retry_after(&output.stdout);
                Ok(Outcome::Retry {
                    after,
                    reason: describe("exit 75: retry later"),
                })
            }
            Some(EXIT_FAIL) => Ok(Outcome::fail(describe("exit 65: failed permanently"))),
            Some(c) => Err(describe(&format!("exit {c}"))),
            None => {
                use std::os::unix::process::ExitStatusExt;
                Err(describe(&format!(
                    "killed by signal {}",
                    output.status.signal().unwrap_or(0)
                )))
            }
        }
    }
}

fn retry_after(stdout: &[u8]) -> Option<Duration> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .find_map(|l| {
            l.trim()
                .strip_prefix("anp-retry-after:")
                .map(str::trim)
                .map(str::to_owned)
        })
        .and_then(|d| crate::config::parse_duration("anp-retry-after", &d).ok())
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
