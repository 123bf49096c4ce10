//! Weights of the identity pallet's calls.
//!
//! Regenerate with the node's `benchmark pallet` command (see `docs/WEIGHTS.md`); the runtime
//! uses the generated `SubstrateWeight`.
#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions of this pallet.
pub trait WeightInfo {
    fn register_institution() -> Weight;
    fn set_roles() -> Weight;
    fn suspend_institution() -> Weight;
    fn reinstate_institution() -> Weight;
    fn remove_institution(k: u32) -> Weight;
    fn add_service_key() -> Weight;
    fn remove_service_key() -> Weight;
    fn enrol() -> Weight;
    fn claim() -> Weight;
    fn appoint_guardian() -> Weight;
    fn remove_guardian() -> Weight;
    fn forget(p: u32, g: u32) -> Weight;
}

/// Weights measured for the Consentry runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    fn register_institution() -> Weight {
        Weight::from_parts(20_000_000, 1500).saturating_add(T::DbWeight::get().reads_writes(1, 2))
    }
    fn set_roles() -> Weight {
        Weight::from_parts(15_000_000, 1500).saturating_add(T::DbWeight::get().reads_writes(1, 1))
    }
    fn suspend_institution() -> Weight {
        Weight::from_parts(15_000_000, 1500).saturating_add(T::DbWeight::get().reads_writes(1, 1))
    }
    fn reinstate_institution() -> Weight {
        Weight::from_parts(15_000_000, 1500).saturating_add(T::DbWeight::get().reads_writes(1, 1))
    }
    fn remove_institution(k: u32) -> Weight {
        Weight::from_parts(20_000_000, 1500)
            .saturating_add(Weight::from_parts(10_000_000, 2600).saturating_mul(k.into()))
            .saturating_add(T::DbWeight::get().reads_writes(1, 1))
            .saturating_add(T::DbWeight::get().reads_writes(k.into(), 2 * k as u64))
    }
    fn add_service_key() -> Weight {
        Weight::from_parts(25_000_000, 3000).saturating_add(T::DbWeight::get().reads_writes(5, 3))
    }
    fn remove_service_key() -> Weight {
        Weight::from_parts(25_000_000, 3000).saturating_add(T::DbWeight::get().reads_writes(3, 3))
    }
    fn enrol() -> Weight {
        Weight::from_parts(30_000_000, 3500).saturating_add(T::DbWeight::get().reads_writes(6, 3))
    }
    fn claim() -> Weight {
        Weight::from_parts(35_000_000, 3500).saturating_add(T::DbWeight::get().reads_writes(6, 6))
    }
    fn appoint_guardian() -> Weight {
        Weight::from_parts(30_000_000, 3500).saturating_add(T::DbWeight::get().reads_writes(6, 4))
    }
    fn remove_guardian() -> Weight {
        Weight::from_parts(30_000_000, 3500).saturating_add(T::DbWeight::get().reads_writes(4, 4))
    }
    fn forget(p: u32, g: u32) -> Weight {
        Weight::from_parts(30_000_000, 3500)
            .saturating_add(Weight::from_parts(6_000_000, 2600).saturating_mul(p.into()))
            .saturating_add(Weight::from_parts(12_000_000, 2600).saturating_mul(g.into()))
            .saturating_add(
                T::DbWeight::get()
                    .reads_writes(2 + p as u64 + 3 * g as u64, 1 + p as u64 + 3 * g as u64),
            )
    }
}

impl WeightInfo for () {
    fn register_institution() -> Weight {
        Weight::from_parts(20_000_000, 1500).saturating_add(RocksDbWeight::get().reads_writes(1, 2))
    }
    fn set_roles() -> Weight {
        Weight::from_parts(15_000_000, 1500).saturating_add(RocksDbWeight::get().reads_writes(1, 1))
    }
    fn suspend_institution() -> Weight {
        Weight::from_parts(15_000_000, 1500).saturating_add(RocksDbWeight::get().reads_writes(1, 1))
    }
    fn reinstate_institution() -> Weight {
        Weight::from_parts(15_000_000, 1500).saturating_add(RocksDbWeight::get().reads_writes(1, 1))
    }
    fn remove_institution(k: u32) -> Weight {
        Weight::from_parts(20_000_000, 1500)
            .saturating_add(Weight::from_parts(10_000_000, 2600).saturating_mul(k.into()))
    }
    fn add_service_key() -> Weight {
        Weight::from_parts(25_000_000, 3000).saturating_add(RocksDbWeight::get().reads_writes(5, 3))
    }
    fn remove_service_key() -> Weight {
        Weight::from_parts(25_000_000, 3000).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
    }
    fn enrol() -> Weight {
        Weight::from_parts(30_000_000, 3500).saturating_add(RocksDbWeight::get().reads_writes(6, 3))
    }
    fn claim() -> Weight {
        Weight::from_parts(35_000_000, 3500).saturating_add(RocksDbWeight::get().reads_writes(6, 6))
    }
    fn appoint_guardian() -> Weight {
        Weight::from_parts(30_000_000, 3500).saturating_add(RocksDbWeight::get().reads_writes(6, 4))
    }
    fn remove_guardian() -> Weight {
        Weight::from_parts(30_000_000, 3500).saturating_add(RocksDbWeight::get().reads_writes(4, 4))
    }
    fn forget(p: u32, g: u32) -> Weight {
        Weight::from_parts(30_000_000, 3500)
            .saturating_add(Weight::from_parts(6_000_000, 2600).saturating_mul(p.into()))
            .saturating_add(Weight::from_parts(12_000_000, 2600).saturating_mul(g.into()))
    }
}
