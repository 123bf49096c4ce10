//! Weights of FRAME parts this runtime configures, generated on the reference hardware by the
//! node's `benchmark pallet` command (`scripts/weights.sh system-extensions`) so that they are
//! priced at this chain's ParityDB costs, not the SDK's defaults (which assume RocksDB). The
//! Consentry pallets keep their generated weights in their own crates.

pub mod frame_system_extensions;
