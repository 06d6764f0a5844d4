//! `anp cron next EXPR [--tz ZONE] [--after RFC3339] [-n N]`: the question users ask before
//! they trust a schedule.

use alphanode::Error;
use anp_cron::{format_rfc3339_offset, CronError, CronExpr, Tz};
use clap::Subcommand;

use super::{parse_timestamp, Ctx};
use crate::output;

/// `anp cron …`.
#[derive(Subcommand, Debug)]
pub enum CronCommand {
    /// Print the next N fire instants strictly after --after, one RFC 3339 timestamp with the
    /// zone's UTC offset per line (Debian cron's daylight-saving rules).
    Next {
        /// Cron expression: 5 fields, or 6 with leading seconds, or @hourly/@daily/….
        expr: String,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Start instant (exclusive), RFC 3339; default now.
        #[arg(long, value_name = "RFC3339")]
        after: Option<String>,
        /// How many fire instants.
        #[arg(short = 'n', long = "count", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        n: u32,
    },
}

/// Converts a cron error into the one error type (invalid input, not retried).
pub fn cron_error(e: CronError) -> Error {
    Error::invalid(e.op(), e.message())
}

/// Runs `anp cron …`.
pub async fn run(ctx: &Ctx, c: CronCommand) -> anyhow::Result<()> {
    match c {
        CronCommand::Next { expr, tz, after, n } => {
            let expr = CronExpr::parse(&expr).map_err(cron_error)?;
            let tz = Tz::parse(&tz).map_err(cron_error)?;
            let after = match after {
                Some(a) => parse_timestamp("--after", &a)?,
                None => jiff::Timestamp::now(),
            };
            let times: Vec<String> = expr
                .next_n(&tz, after, n as usize)
                .iter()
                .map(format_rfc3339_offset)
                .collect();
            if times.is_empty() {
                // Every date it matches falls in skipped local time (a wildcard job in a
                // daylight-saving gap): as useless as an invalid expression.
                return Err(Error::invalid(
                    format!("cron expression {:?}", expr.as_str()),
                    format!(
                        "never fires in {} after {after}: every time it names falls in a \
                         daylight-saving gap there; expected an expression with at least one \
                         time that exists in the zone (see docs/cron-dst.md)",
                        tz.name()
                    ),
                )
                .into());
            }
            if ctx.json {
                output::json(&times)?;
            } else {
                for t in &times {
                    println!("{t}");
                }
            }
            if times.len() < n as usize {
                eprintln!(
                    "anp: {expr} fires only {} time(s) after {after} within 400 years",
                    times.len()
                );
            }
            Ok(())
        }
    }
}
