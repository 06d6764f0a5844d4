//! `anp`: the alphanode command line.
//!
//! # Layout
//! - `main.rs`: arguments (clap), logging, the error → exit code mapping.
//! - `cli/<command>.rs`: one file per subcommand (a folder where one needs several rooms:
//!   `cli/bench/`).
//! - `web/`: `anp serve` (router and token auth, JSON API, actions, `/metrics`, `/healthz`),
//!   through the library's public API only.
//! - `config/`: `anp.toml`, checked into typed values.
//! - `wire/`: what the command line and the HTTP API share: the enqueue request and the JSON
//!   views of schedules and queues (one schema per object).
//! - `runners/`: command and HTTP job kinds for `anp work`.
//! - `output/`: `--json` vs human output, tables (terminal or tab-separated), colour, progress
//!   bars, a closed stdout.

// A binary exports nothing: `pub` here only marks what sibling modules use.
#![allow(unreachable_pub)]

mod cli;
mod config;
mod output;
mod runners;
mod web;
mod wire;

use std::process::ExitCode;

use alphanode::{Error, ErrorKind};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// alphanode: reliable background jobs and scheduled tasks, on an embedded SQLite file or Redis.
#[derive(Parser, Debug)]
#[command(name = "anp", version, about, max_term_width = 100)]
struct Cli {
    /// Store URL: sqlite://PATH, redis://[USER:PASS@]HOST:PORT, rediss://… (TLS) or
    /// redis+cluster://HOST:PORT,HOST:PORT; default: the `store` of ANP_CONFIG or ./anp.toml, else
    /// sqlite://anp.db.
    #[arg(
        long,
        global = true,
        env = "ANP_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    store: Option<String>,
    /// Print one JSON value on stdout instead of human output.
    #[arg(long, global = true)]
    json: bool,
    /// More log output on stderr (repeat for more); `ANP_LOG` takes a full filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Enqueue one job; prints its id.
    Enqueue(cli::enqueue::EnqueueArgs),
    /// Enqueue many jobs from a JSONL file (one job per line), in batches, with progress.
    Bulk(cli::bulk::BulkArgs),
    /// List, inspect, retry, cancel and delete jobs.
    #[command(subcommand)]
    Jobs(cli::jobs::JobsCommand),
    /// Queue sizes per state and oldest available job; pause and resume.
    Queues(cli::queues::QueuesArgs),
    /// Run jobs: command and HTTP kinds declared in anp.toml.
    Work(cli::work::WorkArgs),
    /// Scheduled tasks: list, show (with fire log), trigger, pause, resume, delete.
    #[command(subcommand)]
    Schedules(cli::schedules::SchedulesCommand),
    /// Fire the [[schedule]]s of anp.toml (any number of schedulers may run; each tick fires once).
    Scheduler(cli::schedules::SchedulerArgs),
    /// Is it up, is it slow, are jobs failing, did the last deploy change anything?
    /// Exit 0 when all is well, 8 when something needs attention.
    Status,
    /// The overview of `anp status` live in a terminal: the four questions, queues, failing
    /// kinds, schedules due next, workers; one snapshot of the store per --interval.
    Top(cli::top::TopArgs),
    /// HTTP: /healthz, /metrics (Prometheus), read-only /api/, token-protected actions.
    Serve(web::ServeArgs),
    /// The HTTP cache in front of any web app: `--upstream http://HOST:PORT`, cached per the
    /// rules, everything else streamed through.
    Proxy(cli::proxy::ProxyArgs),
    /// Check config, store, schema, durability and security settings; say what to fix.
    Doctor(cli::doctor::DoctorArgs),
    /// Write a verified, store-independent backup file (a consistent snapshot on SQLite).
    Backup(cli::backup::BackupArgs),
    /// Restore a backup file into this store (refuses a store that holds jobs unless --force).
    Restore(cli::backup::RestoreArgs),
    /// Live workers and schedulers (id, host, pid, version, queues, kinds, heartbeat).
    Workers(output::ListArgs),
    /// The application cache: `get KEY`, `set KEY JSON [--ttl 60s] [--tag T]…`,
    /// `purge (--key K | --tag T | --prefix P)`, `stats`; `--namespace NS` on each. The HTTP
    /// cache rules file: `rules check|explain|export`.
    #[command(subcommand)]
    Cache(cli::cache::CacheCommand),
    /// Deploy markers: `mark --version V [--owner O] [--rollback CMD] [--note TEXT]`,
    /// `rollback [--note TEXT]`, `list`.
    #[command(subcommand)]
    Deploy(cli::deploy::DeployCommand),
    /// Cron expressions: `anp cron next EXPR --tz ZONE` prints the next fire times.
    #[command(subcommand)]
    Cron(cli::cron::CronCommand),
    /// Measure the store and worker with the standard workload (bulk and single enqueue,
    /// processing, latency); safe on a staging store.
    Bench(cli::bench::BenchArgs),
    /// Print a shell completion script: `anp completions bash > /etc/bash_completion.d/anp`.
    Completions(cli::completions::CompletionsArgs),
    /// Print the man page (roff), or write one page per subcommand with --dir.
    Man(cli::completions::ManArgs),
}

fn main() -> ExitCode {
    output::exit_quietly_on_closed_pipe();
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return arg_error(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return arg_error(&e),
    };
    // `--store` and `ANP_STORE` fill one argument; `--json` says which one it was.
    let store_from_env = matches.value_source("store") == Some(ValueSource::EnvVariable);
    // `anp top` draws on the terminal stderr goes to: a warning would scribble over the screen,
    // which shows store errors itself. It logs only when asked (-v, ANP_LOG: redirect 2>FILE).
    let quiet = matches!(cli.command, Command::Top(_))
        && cli.verbose == 0
        && std::env::var_os("ANP_LOG").is_none();
    if !quiet {
        output::init_logging(
            cli.verbose,
            matches!(
                cli.command,
                Command::Work(_) | Command::Scheduler(_) | Command::Serve(_) | Command::Proxy(_)
            ),
        );
    }
    // `anp work` runs on one thread unless `--threads` asks for more (WorkArgs::threads: its
    // jobs' work happens in other processes, and handing tasks between threads cost it ~40 %
    // more CPU per job); every other command on Tokio's default, a thread per core.
    let mut builder = match &cli.command {
        Command::Work(a) if a.threads <= 1 => tokio::runtime::Builder::new_current_thread(),
        Command::Work(a) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(a.threads));
            b
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    // Two blocking threads: the SQLite store runs all its work on Tokio's blocking pool and
    // serializes it on two connections (one writer, one reader), so more threads only wait on
    // those locks, and each thread that allocates costs glibc malloc an arena: with the default
    // (up to 512) a SQLite worker peaked at 16.9-17.3 MiB RSS in bench phase B, with 2 at
    // 14.5-14.6 MiB and the same throughput (BENCHMARKS.md). Redis needs none.
    let rt = match builder.max_blocking_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("anp: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let ctx = cli::Ctx::new(cli.store, store_from_env, cli.json);
    let result = rt.block_on(run(&ctx, cli.command));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => report(&e, &ctx),
    }
}

async fn run(ctx: &cli::Ctx, command: Command) -> anyhow::Result<u8> {
    let command = match command {
        Command::Status => return cli::status::status(ctx).await,
        Command::Doctor(a) => return cli::doctor::run(ctx, a).await,
        Command::Cache(cli::cache::CacheCommand::Rules(r)) => return cli::cache_rules::run(ctx, r),
        other => other,
    };
    match command {
        Command::Status | Command::Doctor(_) => Ok(()),
        Command::Workers(a) => cli::workers::workers(ctx, a).await,
        Command::Top(a) => cli::top::run(ctx, a).await,
        Command::Backup(a) => cli::backup::backup(ctx, a).await,
        Command::Restore(a) => cli::backup::restore(ctx, a).await,
        Command::Serve(a) => web::run(ctx, a).await,
        Command::Proxy(a) => cli::proxy::run(ctx, a).await,
        Command::Deploy(c) => cli::deploy::deploy(ctx, c).await,
        Command::Cache(c) => cli::cache::run(ctx, c).await,
        Command::Enqueue(a) => cli::enqueue::run(ctx, a).await,
        Command::Bulk(a) => cli::bulk::run(ctx, a).await,
        Command::Jobs(c) => cli::jobs::run(ctx, c).await,
        Command::Queues(a) => cli::queues::run(ctx, a).await,
        Command::Work(a) => cli::work::run(ctx, a).await,
        Command::Cron(c) => cli::cron::run(ctx, c).await,
        Command::Bench(a) => cli::bench::run(ctx, a).await,
        Command::Schedules(c) => cli::schedules::run(ctx, c).await,
        Command::Scheduler(a) => cli::schedules::run_scheduler(ctx, a).await,
        Command::Completions(a) => cli::completions::completions(Cli::command(), a),
        Command::Man(a) => cli::completions::man(Cli::command(), a),
    }
    .map(|()| 0)
}

/// Exit codes (documented in README.md):
/// 0 ok · 1 internal error · 2 invalid input · 3 store unavailable (retry safe) · 4 not found ·
/// 5 conflict with the current state · 6 incompatible store (not alphanode, newer schema,
/// damaged) · 7 read-only location.
fn exit_code(kind: Option<ErrorKind>) -> u8 {
    match kind {
        Some(ErrorKind::InvalidInput) => 2,
        Some(ErrorKind::Unavailable) => 3,
        Some(ErrorKind::NotFound) => 4,
        Some(ErrorKind::Conflict) | Some(ErrorKind::LeaseLost) => 5,
        Some(ErrorKind::Incompatible) => 6,
        Some(ErrorKind::ReadOnly) => 7,
        _ => 1,
    }
}

/// Argument errors: clap's own output and exit code 2; with `--json` among the arguments, also
/// the `{"error": …}` object on stdout. `--help` and `--version` print as usual (exit 0).
fn arg_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion) {
        return match e.print() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(output::EXIT_STDOUT_CLOSED),
        };
    }
    const CODE: u8 = 2;
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if json {
        let text = e.render().to_string();
        // clap's message and tip, without its `error: ` label and the usage lines.
        let message = text
            .split("\nUsage:")
            .next()
            .unwrap_or(&text)
            .trim()
            .trim_start_matches("error: ")
            .to_owned();
        let v = wire::error_body(
            "arguments",
            ErrorKind::InvalidInput.as_str(),
            &message,
            false,
            Some(CODE),
        );
        let _ = output::out(&format!("{v}\n"));
    }
    let _ = e.print();
    ExitCode::from(CODE)
}

/// Whether the human message leaves out the operation: an internal name (`job_get`,
/// `store_ping`) or one the message repeats (`store open` before "store redis://… is
/// unavailable"). It stays in `--json` and in `-v` logs. User words that say which input was
/// wrong (`queue name`, `priority`, `config`) stay in front of the message.
fn op_is_noise(op: &str, message: &str) -> bool {
    let internal = op.contains('_') && op.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let repeated = op
        .split(' ')
        .next()
        .is_some_and(|first| message.starts_with(&format!("{first} ")));
    internal || repeated
}

/// The human form of an error: `<what failed>: expected <X>; <retry safe | not retried>`.
fn human(a: &Error) -> String {
    if op_is_noise(a.op(), a.message()) {
        let hint = if a.retry_safe() {
            "retry safe"
        } else {
            "not retried"
        };
        format!("{}; {hint}", a.message())
    } else {
        a.to_string()
    }
}

/// Prints a failed command's error: on stderr for people, and with `--json` as the error object
/// on stdout, with the `store` the command used once it had resolved one.
fn report(e: &anyhow::Error, ctx: &cli::Ctx) -> ExitCode {
    if e.downcast_ref::<output::StdoutClosed>().is_some() {
        return ExitCode::from(output::EXIT_STDOUT_CLOSED);
    }
    if let Some(r) = e.downcast_ref::<output::Reported>() {
        eprintln!("anp: error: {}", r.message);
        return ExitCode::from(r.code);
    }
    let ae = e.downcast_ref::<Error>();
    let code = exit_code(ae.map(|a| a.kind()));
    if let Some(a) = ae {
        // `-v` shows the operation that failed.
        tracing::info!(
            op = a.op(),
            kind = a.kind().as_str(),
            retry_safe = a.retry_safe(),
            "error"
        );
    }
    if ctx.json {
        let mut v = match ae {
            Some(a) => wire::error_body(
                a.op(),
                a.kind().as_str(),
                a.message(),
                a.retry_safe(),
                Some(code),
            ),
            None => wire::error_body("anp", "internal", &format!("{e:#}"), false, Some(code)),
        };
        // Beside `error`, as in every object a command prints (not in `anp serve`'s errors).
        if let Some(store) = ctx.store_used() {
            v["store"] = serde_json::to_value(store).unwrap_or_default();
        }
        if output::out(&format!("{v}\n")).is_err() {
            return ExitCode::from(code);
        }
    }
    match ae {
        // Our errors already say what failed, what was expected and whether to retry.
        Some(a) => eprintln!("anp: error: {}", human(a)),
        None => eprintln!("anp: error: {e:#}"),
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn human_messages_leave_out_internal_op_names() {
        let e = Error::not_found("job_get", "job 0192 not found: expected an existing id");
        assert_eq!(
            human(&e),
            "job 0192 not found: expected an existing id; not retried"
        );
        let e = Error::unavailable(
            "store open",
            "store redis://h is unavailable: expected Redis",
        );
        assert_eq!(
            human(&e),
            "store redis://h is unavailable: expected Redis; retry safe"
        );
        let e = Error::invalid("queue name", "\"Bad!\" is invalid: expected [a-z]");
        assert_eq!(
            human(&e),
            "queue name: \"Bad!\" is invalid: expected [a-z]; not retried"
        );
    }
}
