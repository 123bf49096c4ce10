//! Dispatches the command line.

use crate::{
    chain_spec,
    cli::{Cli, Subcommand},
    service,
};
use consentry_runtime::opaque::Block;
use frame_benchmarking_cli::{BenchmarkCmd, SUBSTRATE_REFERENCE_HARDWARE};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

impl SubstrateCli for Cli {
    fn impl_name() -> String {
        "Consentry Node".into()
    }
    fn impl_version() -> String {
        env!("SUBSTRATE_CLI_IMPL_VERSION").into()
    }
    fn description() -> String {
        env!("CARGO_PKG_DESCRIPTION").into()
    }
    fn author() -> String {
        env!("CARGO_PKG_AUTHORS").into()
    }
    fn support_url() -> String {
        "https://github.com/consentry/consentry/issues".into()
    }
    fn copyright_start_year() -> i32 {
        2026
    }
    fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
        chain_spec::load(id)
    }
}

/// Parses the command line and runs it.
pub fn run() -> sc_cli::Result<()> {
    let cli = Cli::from_args();
    match &cli.subcommand {
        Some(Subcommand::Key(cmd)) => cmd.run(&cli),
        Some(Subcommand::BuildSpec(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
        }
        Some(Subcommand::CheckBlock(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    import_queue,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::ExportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, config.database), task_manager))
            })
        }
        Some(Subcommand::ExportState(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, config.chain_spec), task_manager))
            })
        }
        Some(Subcommand::ImportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    import_queue,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::PurgeChain(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run(config.database))
        }
        Some(Subcommand::Revert(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    backend,
                    ..
                } = service::new_partial(&config)?;
                let aux_revert = Box::new(|client, _, blocks| {
                    sc_consensus_grandpa::revert(client, blocks)?;
                    Ok(())
                });
                Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
            })
        }
        Some(Subcommand::Benchmark(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| match cmd {
                BenchmarkCmd::Pallet(cmd) => {
                    if !cfg!(feature = "runtime-benchmarks") {
                        return Err("build the node with `--features runtime-benchmarks` to benchmark pallets".into());
                    }
                    cmd.run_with_spec::<sp_runtime::traits::HashingFor<Block>, ()>(Some(config.chain_spec))
                },
                BenchmarkCmd::Block(cmd) => {
                    let PartialComponents { client, .. } = service::new_partial(&config)?;
                    cmd.run(client)
                },
                BenchmarkCmd::Machine(cmd) => cmd.run(&config, SUBSTRATE_REFERENCE_HARDWARE.clone()),
                // The base weights of a block and of an extrinsic, from blocks full of
                // `System::remark` on the chain's genesis (`scripts/weights.sh overhead`).
                BenchmarkCmd::Overhead(cmd) => {
                    cmd.run_with_default_builder_and_spec::<Block, ()>(Some(config.chain_spec))
                },
                // Measures this machine's database read/write costs on a node's state; the
                // runtime's `DbWeight` is generated from it (`docs/WEIGHTS.md`). The database
                // handles it needs are only exposed in benchmark builds.
                #[cfg(feature = "runtime-benchmarks")]
                BenchmarkCmd::Storage(cmd) => {
                    let PartialComponents { client, backend, .. } = service::new_partial(&config)?;
                    let db = backend.expose_db();
                    let storage = backend.expose_storage();
                    cmd.run(config, client, db, storage)
                },
                _ => Err("this benchmark is not supported by the Consentry node (use `benchmark pallet`, `block`, `machine`, `overhead` or `storage`)".into()),
            })
        }
        Some(Subcommand::DbWeights(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| {
                // The database handles it needs are only exposed in benchmark builds.
                #[cfg(feature = "runtime-benchmarks")]
                {
                    let PartialComponents { client, backend, .. } = service::new_partial(&config)?;
                    cmd.run(client, backend.expose_db(), backend.expose_storage())
                }
                #[cfg(not(feature = "runtime-benchmarks"))]
                {
                    let _ = (cmd, config);
                    Err("build the node with `--features runtime-benchmarks` to measure database weights".into())
                }
            })
        }
        Some(Subcommand::ChainInfo(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run::<Block>(&config))
        }
        None => {
            let runner = cli.create_runner(&cli.run)?;
            runner.run_node_until_exit(|config| async move {
                match config.network.network_backend {
                    sc_network::config::NetworkBackendType::Libp2p => service::new_full::<
                        sc_network::NetworkWorker<
                            Block,
                            <Block as sp_runtime::traits::Block>::Hash,
                        >,
                    >(config)
                    .map_err(sc_cli::Error::Service),
                    sc_network::config::NetworkBackendType::Litep2p => {
                        service::new_full::<sc_network::Litep2pNetworkBackend>(config)
                            .map_err(sc_cli::Error::Service)
                    }
                }
            })
        }
    }
}
