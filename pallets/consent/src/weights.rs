//! Weights of the consent pallet's calls.
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
    fn grant(n: u32) -> Weight;
    fn amend() -> Weight;
    fn revoke() -> Weight;
}

/// Weights measured for the Consentry runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    fn grant(n: u32) -> Weight {
        Weight::from_parts(30_000_000, 4000)
            .saturating_add(Weight::from_parts(3_000_000, 600).saturating_mul(n.into()))
            .saturating_add(T::DbWeight::get().reads_writes(5 + n as u64, 3))
    }
    fn amend() -> Weight {
        Weight::from_parts(25_000_000, 3500).saturating_add(T::DbWeight::get().reads_writes(3, 1))
    }
    fn revoke() -> Weight {
        Weight::from_parts(25_000_000, 3500).saturating_add(T::DbWeight::get().reads_writes(3, 1))
    }
}

impl WeightInfo for () {
    fn grant(n: u32) -> Weight {
        Weight::from_parts(30_000_000, 4000)
            .saturating_add(Weight::from_parts(3_000_000, 600).saturating_mul(n.into()))
            .saturating_add(RocksDbWeight::get().reads_writes(5 + n as u64, 3))
    }
    fn amend() -> Weight {
        Weight::from_parts(25_000_000, 3500).saturating_add(RocksDbWeight::get().reads_writes(3, 1))
    }
    fn revoke() -> Weight {
        Weight::from_parts(25_000_000, 3500).saturating_add(RocksDbWeight::get().reads_writes(3, 1))
    }
}
