//! The conformance suite against the PostgreSQL backend: a database of its own per test,
//! created from a migrated template on the server at 127.0.0.1:5432 (or on a private cluster
//! this process starts when none answers there) and dropped when the test ends. Never touches
//! another database.

#[path = "../../anp-postgres/tests/common/mod.rs"]
mod common;

use common::PgHarness;

anp_conformance::conformance_suite!(PgHarness, env!("CARGO_BIN_EXE_anp"));
