//! Weights of the runtime's own transaction extension (`check_permission`) and contracts' chain
//! extension (`contracts_extension`), of the SDK's
//! node-authorization pallet (which ships no benchmarks; the runtime has them), and of FRAME parts
//! this runtime configures, generated on the reference hardware by the node's `benchmark pallet`
//! command (`scripts/weights.sh permission extension node-authorization system
//! system-extensions`), priced at this chain's ParityDB
//! costs rather than the SDK's defaults (which assume RocksDB); and the base weights of a block
//! and of an extrinsic, from the node's `benchmark overhead` command (`scripts/weights.sh
//! overhead`), rather than the SDK's constants measured on other hardware; and the cost of one
//! database read and write (`db_weights`, the node's `db-weights` command, `scripts/weights.sh
//! db`), which prices every storage access of every weight above. The Consentry pallets keep
//! their generated weights in their own crates.

pub mod block_weights;
pub mod check_permission;
pub mod contracts_extension;
pub mod db_weights;
pub mod extrinsic_weights;
pub mod frame_system;
pub mod frame_system_extensions;
pub mod pallet_node_authorization;
