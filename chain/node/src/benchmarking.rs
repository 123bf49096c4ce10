//! The node's benchmark subcommands, in builds with `--features runtime-benchmarks` only: the
//! SDK's `benchmark` family (weights of pallets, of blocks and extrinsics, re-execution of stored
//! blocks, this machine's hardware) and `db-weights` (see [`crate::db_weights`]).

use crate::{cli::Cli, db_weights::DbWeightsCmd, service};
use consentry_runtime::opaque::Block;
use frame_benchmarking_cli::{BenchmarkCmd, SUBSTRATE_REFERENCE_HARDWARE};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

/// Runs one of the SDK's benchmark commands against this node's runtime and database.
pub fn benchmark(cli: &Cli, cmd: &BenchmarkCmd) -> sc_cli::Result<()> {
    let runner = cli.create_runner(cmd)?;
    runner.sync_run(|config| match cmd {
        BenchmarkCmd::Pallet(cmd) => {
            cmd.run_with_spec::<sp_runtime::traits::HashingFor<Block>, ()>(Some(config.chain_spec))
        }
        BenchmarkCmd::Block(cmd) => {
            let PartialComponents { client, .. } = service::new_partial(&config)?;
            cmd.run(client)
        }
        BenchmarkCmd::Machine(cmd) => cmd.run(&config, SUBSTRATE_REFERENCE_HARDWARE.clone()),
        // The base weights of a block and of an extrinsic, from blocks full of `System::remark`
        // on the chain's genesis (`scripts/weights.sh overhead`).
        BenchmarkCmd::Overhead(cmd) => {
            cmd.run_with_default_builder_and_spec::<Block, ()>(Some(config.chain_spec))
        }
        BenchmarkCmd::Storage(cmd) => {
            let PartialComponents {
                client, backend, ..
            } = service::new_partial(&config)?;
            cmd.run(
                config,
                client,
                backend.expose_db(),
                backend.expose_storage(),
            )
        }
        _ => Err(
            "this benchmark is not supported by the Consentry node (use `benchmark pallet`, \
                  `block`, `machine`, `overhead` or `storage`)"
                .into(),
        ),
    })
}

/// Measures this machine's database read and write costs on a node's state, for the runtime's
/// `DbWeight` (`docs/WEIGHTS.md`).
pub fn db_weights(cli: &Cli, cmd: &DbWeightsCmd) -> sc_cli::Result<()> {
    let runner = cli.create_runner(cmd)?;
    runner.sync_run(|config| {
        let PartialComponents {
            client, backend, ..
        } = service::new_partial(&config)?;
        cmd.run(client, backend.expose_db(), backend.expose_storage())
    })
}
