//! A FRAME mock runtime for the audit pallet's tests: identity + consent + audit + timestamp.

use crate as pallet_audit;
use frame_support::{derive_impl, traits::ConstU32};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Timestamp: pallet_timestamp,
        Identity: pallet_consentry_identity,
        ConsentPallet: pallet_consentry_consent,
        Audit: pallet_audit,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = u64;
    type Lookup = sp_runtime::traits::IdentityLookup<u64>;
    // Real database weights, so the tests see what the refunds give back.
    type DbWeight = frame_support::weights::constants::ParityDbWeight;
}

impl pallet_timestamp::Config for Test {
    type Moment = u64;
    type OnTimestampSet = ();
    type MinimumPeriod = frame_support::traits::ConstU64<1>;
    type WeightInfo = ();
}

impl pallet_consentry_identity::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = frame_system::EnsureRoot<u64>;
    type Time = Timestamp;
    type OnErasure = ConsentPallet;
    type MaxNameLen = ConstU32<32>;
    type MaxServiceKeys = ConstU32<4>;
    type MaxPseudonymsPerSubject = ConstU32<4>;
    type MaxGuardians = ConstU32<2>;
    type WeightInfo = ();
}

impl pallet_consentry_consent::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type MaxLiveConsents = ConstU32<8>;
    type MaxIndexedConsents = ConstU32<12>;
    type WeightInfo = ();
}

impl pallet_audit::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type ConsentCheck = ConsentPallet;
    type MaxBatch = ConstU32<4>;
    type IndexPage = ConstU32<4>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = BenchHelper;
}

/// Registers the accessor, enrols a patient and grants through the real pallets.
#[cfg(feature = "runtime-benchmarks")]
pub struct BenchHelper;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for BenchHelper {
    fn institution(accessor: &u64) {
        use consentry_primitives::{Role, RoleSet};
        let id = pallet_consentry_identity::NextInstitutionId::<Test>::get();
        let roles = RoleSet::of(&[Role::DataCustodian, Role::Researcher]);
        Identity::register_institution(RuntimeOrigin::root(), b"bench".to_vec(), roles).unwrap();
        Identity::add_service_key(RuntimeOrigin::root(), id, *accessor).unwrap();
    }

    fn patient(
        accessor: &u64,
        i: u32,
        pseudonym: [u8; 32],
        purpose: consentry_primitives::Purpose,
        consents: &[consentry_primitives::CategorySet],
    ) -> u64 {
        use consentry_primitives::{Grantee, PurposeSet};
        let institution = pallet_consentry_identity::ServiceKeys::<Test>::get(accessor).unwrap();
        let patient = 10_000 + u64::from(i);
        Identity::enrol(RuntimeOrigin::signed(*accessor), pseudonym, patient).unwrap();
        Identity::claim(RuntimeOrigin::signed(patient), pseudonym).unwrap();
        let subject = pallet_consentry_identity::SubjectOfAccount::<Test>::get(patient).unwrap();
        for categories in consents {
            ConsentPallet::grant(
                RuntimeOrigin::signed(patient),
                subject,
                Grantee::Institution(institution),
                PurposeSet::of(&[purpose]),
                *categories,
                None,
                None,
                Some(u32::MAX),
            )
            .unwrap();
        }
        subject
    }
}

pub const HOSPITAL: u32 = 0;
pub const HOSPITAL_KEY: u64 = 10;
pub const HOSPITAL_KEY_2: u64 = 11;
pub const LAB: u32 = 1;
pub const LAB_KEY: u64 = 20;
pub const OUTSIDER: u64 = 999;
pub const PATIENT: u64 = 100;
pub const PSEUDONYM: [u8; 32] = [7; 32];
pub const SUBJECT: u64 = 0;

/// Hospital (custodian, two keys), research lab (researcher), one enrolled and claimed patient.
pub fn new_test_ext() -> sp_io::TestExternalities {
    use consentry_primitives::{Role, RoleSet};
    let t = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    let mut ext = sp_io::TestExternalities::new(t);
    ext.execute_with(|| {
        System::set_block_number(1);
        Timestamp::set_timestamp(1_000);
        let root = RuntimeOrigin::root;
        Identity::register_institution(
            root(),
            b"Hospital".to_vec(),
            RoleSet::of(&[Role::DataCustodian]),
        )
        .unwrap();
        Identity::add_service_key(root(), HOSPITAL, HOSPITAL_KEY).unwrap();
        Identity::add_service_key(root(), HOSPITAL, HOSPITAL_KEY_2).unwrap();
        Identity::register_institution(root(), b"Lab".to_vec(), RoleSet::of(&[Role::Researcher]))
            .unwrap();
        Identity::add_service_key(root(), LAB, LAB_KEY).unwrap();
        Identity::enrol(RuntimeOrigin::signed(HOSPITAL_KEY), PSEUDONYM, PATIENT).unwrap();
        Identity::claim(RuntimeOrigin::signed(PATIENT), PSEUDONYM).unwrap();
    });
    ext
}
