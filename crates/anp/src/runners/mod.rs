//! Job kinds declared in `anp.toml`, run as a command or an HTTP call, and the built-in
//! `anp.cdn_purge` kind (`cdn_purge.rs`).

pub mod cdn_purge;
pub mod command;
pub mod http;

use std::sync::Arc;

use alphanode::RawHandler;

use crate::config::{JobSection, Runner};

/// Builds the handler for one `[[job]]`.
pub fn handler(section: &JobSection, http: &reqwest::Client) -> Arc<dyn RawHandler> {
    match &section.run {
        Runner::Command { argv, env, dir } => Arc::new(command::CommandHandler {
            argv: argv.clone(),
            env: env.clone(),
            dir: dir.clone(),
            timeout: section.timeout,
            retry: section.retry.clone(),
        }),
        Runner::Noop => Arc::new(Noop),
        Runner::Http { url, headers } => Arc::new(http::HttpHandler {
            client: http.clone(),
            url: url.clone(),
            headers: headers.clone(),
            timeout: section.timeout,
            retry: section.retry.clone(),
        }),
    }
}

/// `builtin = "noop"`: completes at once.
#[derive(Debug)]
struct Noop;

impl RawHandler for Noop {
    fn call(&self, _ctx: alphanode::JobContext) -> alphanode::handler::HandlerFuture {
        Box::pin(std::future::ready(Ok(alphanode::Outcome::Complete)))
    }
}

/// Keeps the last `max` bytes of `bytes` as text, cut at a character boundary.
pub(crate) fn tail(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    let s = String::from_utf8_lossy(&bytes[start..]);
    let s = s.trim();
    if start > 0 {
        format!("…{s}")
    } else {
        s.to_owned()
    }
}
