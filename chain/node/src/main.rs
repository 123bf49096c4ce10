//! The Consentry node: one binary for validators, full nodes and benchmarking.

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
    command::run()
}
