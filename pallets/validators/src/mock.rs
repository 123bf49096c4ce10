//! A FRAME mock runtime for the validators pallet: system + validators. Which accounts have
//! session keys is a test-controlled list standing in for `pallet-session`'s `NextKeys`.

use crate as pallet_validators;
use frame_support::{
    derive_impl, parameter_types,
    traits::{ConstU32, ConstU64},
};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Validators: pallet_validators,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = u64;
    type Lookup = sp_runtime::traits::IdentityLookup<u64>;
}

parameter_types! {
    /// Accounts with registered session keys.
    pub static WithKeys: Vec<u64> = vec![];
}

pub struct HasKeys;
impl frame_support::traits::Contains<u64> for HasKeys {
    fn contains(who: &u64) -> bool {
        WithKeys::get().contains(who)
    }
}

impl pallet_validators::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = frame_system::EnsureRoot<u64>;
    type HasSessionKeys = HasKeys;
    type MaxValidators = ConstU32<4>;
    type MinValidators = ConstU32<2>;
    type DefaultSessionLength = ConstU64<5>;
    type WeightInfo = ();
}

/// Genesis validators 1, 2 and 3, all with session keys.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut t = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_validators::GenesisConfig::<Test> {
        validators: vec![3, 1, 2],
        session_length: None,
    }
    .assimilate_storage(&mut t)
    .unwrap();
    WithKeys::set(vec![1, 2, 3]);
    let mut ext = sp_io::TestExternalities::new(t);
    ext.execute_with(|| System::set_block_number(1));
    ext
}
