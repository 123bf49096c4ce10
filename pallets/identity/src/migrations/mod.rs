//! Storage migrations of the identity pallet, one module per storage version.
//!
//! The runtime runs each as a [`VersionedMigration`](frame_support::migrations::VersionedMigration)
//! (in its `Executive`), which runs only at the version it migrates from and then stamps the next.

pub mod v1;
pub mod v2;
