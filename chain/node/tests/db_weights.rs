//! The unit tests of `src/db_weights.rs` (its shuffles, value changes and literal grouping), built
//! as an integration test of that one module rather than in the binary's own test harness, which
//! would compile the whole node a second time for them (`test = false` in Cargo.toml).

// As in main.rs: the module's command returns `sc_cli::Error`, the SDK's own (large) error type.
#![allow(clippy::result_large_err)]

#[path = "../src/db_weights.rs"]
mod db_weights;
