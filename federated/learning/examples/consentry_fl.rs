//! `consentry fl …` standalone: `cargo run --release -p consentry-federated --example consentry_fl -- simulate --sites 5`.
use clap::Parser;

#[derive(Parser)]
#[command(name = "consentry-fl")]
struct Cli {
    #[command(subcommand)]
    command: consentry_federated::cli::Command,
}

fn main() {
    if let Err(e) = consentry_federated::cli::run(Cli::parse().command) {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
