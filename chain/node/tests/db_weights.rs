//! The unit tests of `src/db_weights.rs` (its shuffles, value changes and literal grouping), built
//! as an integration test of that one module rather than in the binary's own test harness, which
//! would compile the whole node a second time for them (`test = false` in Cargo.toml).

// Only the module's helpers and their tests are used here, not the command itself.
#[allow(dead_code, unused_imports)]
#[path = "../src/db_weights.rs"]
mod db_weights;
