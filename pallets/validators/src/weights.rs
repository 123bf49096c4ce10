//! Weights for `pallet_consentry_validators`. Placeholder until `scripts/weights.sh` regenerates it.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::ParityDbWeight}};
use core::marker::PhantomData;

/// Weight functions of `pallet_consentry_validators`.
pub trait WeightInfo {
	fn add_validator(v: u32, ) -> Weight;
	fn remove_validator(v: u32, ) -> Weight;
}

/// Weights measured for a runtime `T`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn add_validator(_v: u32, ) -> Weight {
		Weight::from_parts(50_000_000, 2000)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	fn remove_validator(_v: u32, ) -> Weight {
		Weight::from_parts(50_000_000, 2000)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
}

impl WeightInfo for () {
	fn add_validator(_v: u32, ) -> Weight {
		Weight::from_parts(50_000_000, 2000)
	}
	fn remove_validator(_v: u32, ) -> Weight {
		Weight::from_parts(50_000_000, 2000)
	}
}
