//! Every integration test of this crate, one module per suite, in one test binary: a binary
//! compiles and links its own copy of the node client, the SDK types and the async stack it
//! uses, so one binary compiles them once rather than once per suite. nextest still runs every
//! test in a process of its own (`.config/nextest.toml` selects suites by module, e.g.
//! `test(/^<suite>::/)`); `cargo test --release --locked --workspace --test integration <suite>::`
//! runs one suite.

mod audit_verify;
mod contracts;
mod keystore;
mod polkadot_js_contracts;
mod wallet_flow;
