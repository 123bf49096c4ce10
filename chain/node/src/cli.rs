//! Command-line interface.

use sc_cli::RunCmd;

/// The node's command line.
#[derive(Debug, clap::Parser)]
pub struct Cli {
    /// A maintenance subcommand; none runs the node.
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    /// Options for running the node.
    #[clap(flatten)]
    pub run: RunCmd,
}

/// Maintenance subcommands.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
    /// Key management (generate, inspect, insert session keys).
    #[command(subcommand)]
    Key(sc_cli::KeySubcommand),
    /// Build a chain specification: `--chain dev|local|<consortium file>|<spec file>`.
    BuildSpec(sc_cli::BuildSpecCmd),
    /// Validate blocks.
    CheckBlock(sc_cli::CheckBlockCmd),
    /// Export blocks.
    ExportBlocks(sc_cli::ExportBlocksCmd),
    /// Export the state of a block into a chain spec.
    ExportState(sc_cli::ExportStateCmd),
    /// Import blocks.
    ImportBlocks(sc_cli::ImportBlocksCmd),
    /// Remove the whole chain database.
    PurgeChain(sc_cli::PurgeChainCmd),
    /// Revert the chain to a previous state.
    Revert(sc_cli::RevertCmd),
    /// Benchmarks: `benchmark pallet` generates the pallets' weights.
    #[cfg(feature = "runtime-benchmarks")]
    #[command(subcommand)]
    Benchmark(frame_benchmarking_cli::BenchmarkCmd),
    /// Benchmarks: only in builds with `--features runtime-benchmarks` (`scripts/weights.sh`
    /// makes one).
    #[cfg(not(feature = "runtime-benchmarks"))]
    #[command(disable_help_flag = true)]
    Benchmark {
        /// Whatever was asked for; refused with a pointer to the benchmark build.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// This machine's cost of a database read and of a write (committed as blocks commit them),
    /// written out as the runtime's `DbWeight`. Needs `--features runtime-benchmarks`.
    DbWeights(crate::db_weights::DbWeightsCmd),
    /// Database metadata.
    ChainInfo(sc_cli::ChainInfoCmd),
}
