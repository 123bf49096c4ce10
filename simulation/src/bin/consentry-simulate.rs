//! Stand-alone entry point for `consentry simulate` (the lead wires the same
//! `SimulateArgs` into the single `consentry` binary).

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "consentry-simulate",
    about = "Simulate a drug regimen for a patient (PK/PD digital twin)"
)]
struct Cli {
    #[command(flatten)]
    args: consentry_simulation::cli::SimulateArgs,
}

fn main() -> std::process::ExitCode {
    match consentry_simulation::cli::run(Cli::parse().args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
