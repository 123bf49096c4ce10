//! Weights of the audit pallet's calls.
//!
//! Regenerate with the node's `benchmark pallet` command (see `docs/WEIGHTS.md`).
#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions of this pallet.
pub trait WeightInfo {
    fn request_access() -> Weight;
    fn request_access_batch(n: u32) -> Weight;
    fn emergency_access() -> Weight;
    fn complete_access() -> Weight;
}

/// Weights measured for the Consentry runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    fn request_access() -> Weight {
        Weight::from_parts(60_000_000, 8000).saturating_add(T::DbWeight::get().reads_writes(12, 8))
    }
    fn request_access_batch(n: u32) -> Weight {
        Weight::from_parts(20_000_000, 3000)
            .saturating_add(Weight::from_parts(50_000_000, 8000).saturating_mul(n.into()))
            .saturating_add(T::DbWeight::get().reads_writes(2 + 10 * n as u64, 8 * n as u64))
    }
    fn emergency_access() -> Weight {
        Weight::from_parts(50_000_000, 6000).saturating_add(T::DbWeight::get().reads_writes(8, 7))
    }
    fn complete_access() -> Weight {
        Weight::from_parts(30_000_000, 4000).saturating_add(T::DbWeight::get().reads_writes(3, 2))
    }
}

impl WeightInfo for () {
    fn request_access() -> Weight {
        Weight::from_parts(60_000_000, 8000)
            .saturating_add(RocksDbWeight::get().reads_writes(12, 8))
    }
    fn request_access_batch(n: u32) -> Weight {
        Weight::from_parts(20_000_000, 3000)
            .saturating_add(Weight::from_parts(50_000_000, 8000).saturating_mul(n.into()))
    }
    fn emergency_access() -> Weight {
        Weight::from_parts(50_000_000, 6000).saturating_add(RocksDbWeight::get().reads_writes(8, 7))
    }
    fn complete_access() -> Weight {
        Weight::from_parts(30_000_000, 4000).saturating_add(RocksDbWeight::get().reads_writes(3, 2))
    }
}
