//! The Consentry node: one binary for validators, full nodes and benchmarking.

// `sc_cli::Error` and `sc_service::Error` are the SDK's own (large) error types; every Substrate
// node returns them, and boxing them here would only convert back at the SDK boundary.
#![allow(clippy::result_large_err)]

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod chain_spec;
mod cli;
mod command;
mod db_weights;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
    command::run()
}
