//! Standalone runner for the inference subcommands (the lead wires the same
//! `cli::Command` into the single `consentry` binary):
//! `cargo run --release -p consentry-inference --example consentry_inference -- train --config inference/configs/small.toml`

use clap::Parser;

#[derive(Parser)]
#[command(name = "consentry", about = "Consentry digital-twin inference")]
struct Cli {
    #[command(subcommand)]
    cmd: consentry_inference::cli::Command,
}

fn main() -> anyhow::Result<()> {
    consentry_inference::cli::run(Cli::parse().cmd)
}
