//! `consentry`: one command for the people who use Consentry. Each subcommand lives in the crate
//! that owns its concern; this binary only dispatches.

use clap::{Parser, Subcommand};

/// Consentry: consent-governed digital twins.
#[derive(Parser)]
#[command(name = "consentry", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a patient's drug exposure and response (PK/PD digital twin), optionally across a
    /// virtual population, writing a JSON report and plots.
    Simulate(consentry_simulation::cli::SimulateArgs),
    /// The living twin: fit a patient's PK to their measured drug levels (`fit`) and recommend
    /// the regimen most likely to reach the drug's target (`recommend`).
    #[command(subcommand)]
    Twin(consentry_simulation::mipd::cli::TwinCommand),
    /// Drug-response prediction: `train`, `predict`, `explain`.
    #[command(flatten)]
    Inference(consentry_inference::cli::Command),
    /// Federated learning of the hybrid: `fl simulate` (one study in one process), `fl report`.
    #[command(subcommand)]
    Fl(consentry_federated::cli::Command),
    /// The institution's patient data store: `ingest`, `synth`.
    #[command(flatten)]
    Data(consentry_datastore::cli::Command),
    /// Keys, consents and the ledger: `wallet`, `institution`, `audit`.
    #[command(flatten)]
    Ledger(consentry_wallet::cli::Command),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => consentry_simulation::cli::run(args),
        Command::Twin(cmd) => consentry_simulation::mipd::cli::run(cmd),
        Command::Inference(cmd) => consentry_inference::cli::run(cmd),
        Command::Fl(cmd) => consentry_federated::cli::run(cmd),
        Command::Data(cmd) => consentry_datastore::cli::run(cmd),
        Command::Ledger(cmd) => consentry_wallet::cli::run(cmd),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
