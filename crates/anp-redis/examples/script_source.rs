//! Prints one Lua script exactly as the store sends it to Redis 7+ (shebang, the part of
//! `lua/lib.lua` it uses, its file), for `scripts/redis-callgrind`:
//!
//! ```text
//! cargo run --release -q -p anp-redis --example script_source -- job_enqueue_many
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_default();
    match anp_redis::script_source(&name, true) {
        Some(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "script_source: no script {name:?}: expected a file name of crates/anp-redis/lua without .lua, e.g. job_enqueue_many"
            );
            ExitCode::FAILURE
        }
    }
}
