//! A FRAME mock runtime for the identity pallet's tests.

use crate as pallet_identity;
use frame_support::{derive_impl, parameter_types, traits::ConstU32};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Timestamp: pallet_timestamp,
        Identity: pallet_identity,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = u64;
    type Lookup = sp_runtime::traits::IdentityLookup<u64>;
}

impl pallet_timestamp::Config for Test {
    type Moment = u64;
    type OnTimestampSet = ();
    type MinimumPeriod = frame_support::traits::ConstU64<1>;
    type WeightInfo = ();
}

parameter_types! {
    pub static Erased: Vec<u64> = vec![];
}

/// Records erasures so tests can see the hook ran.
pub struct RecordErasure;
impl crate::OnErasure for RecordErasure {
    fn on_erasure(subject: u64, _now: u64) {
        Erased::mutate(|v| v.push(subject));
    }
    fn max_weight() -> frame_support::weights::Weight {
        frame_support::weights::Weight::zero()
    }
}

impl pallet_identity::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = frame_system::EnsureRoot<u64>;
    type Time = Timestamp;
    type OnErasure = RecordErasure;
    type MaxNameLen = ConstU32<32>;
    type MaxServiceKeys = ConstU32<3>;
    type MaxPseudonymsPerSubject = ConstU32<3>;
    type MaxGuardians = ConstU32<2>;
    type WeightInfo = ();
}

pub fn new_test_ext() -> sp_io::TestExternalities {
    let t = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    let mut ext = sp_io::TestExternalities::new(t);
    ext.execute_with(|| {
        System::set_block_number(1);
        Timestamp::set_timestamp(1_000);
    });
    ext
}
