//! The conformance suite against the Redis backend: a private `redis-server` on a free port
//! per test (never 127.0.0.1:6379, never a FLUSH), killed when the test ends. A machine without
//! `redis-server` fails here with the package to install.

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;

use common::RedisHarness;

anp_conformance::conformance_suite!(RedisHarness, env!("CARGO_BIN_EXE_anp"));
