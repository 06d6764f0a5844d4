//! The conformance suite against the Redis backend in Cluster mode: a private 3-primary
//! Redis Cluster on free ports per test, killed when the test ends.

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;

use common::RedisClusterHarness;

anp_conformance::conformance_suite!(RedisClusterHarness, env!("CARGO_BIN_EXE_anp"));
