//! Which pallets the node's `benchmark pallet` command can measure, and the set-up the audit
//! benchmarks need from the real runtime.

use crate::*;
use consentry_primitives::{CategorySet, Grantee, Purpose, PurposeSet, Role, RoleSet};

frame_benchmarking::define_benchmarks!(
    [frame_benchmarking, BaselineBench::<Runtime>]
    [frame_system, SystemBench::<Runtime>]
    [pallet_consentry_identity, Identity]
    [pallet_consentry_consent, Consent]
    [pallet_consentry_audit, Audit]
    [pallet_consentry_validators, ValidatorSet]
);

/// Sets up an institution, an enrolled patient and a consent through the real pallets.
pub struct AuditHelper;

impl pallet_consentry_audit::BenchmarkHelper<AccountId> for AuditHelper {
    fn permit(
        accessor: &AccountId,
        pseudonym: [u8; 32],
        purpose: Purpose,
        categories: CategorySet,
    ) {
        let root = RuntimeOrigin::root;
        let id = pallet_consentry_identity::NextInstitutionId::<Runtime>::get();
        Identity::register_institution(
            root(),
            b"bench".to_vec(),
            RoleSet::of(&[Role::DataCustodian, Role::Researcher]),
        )
        .expect("register");
        Identity::add_service_key(root(), id, accessor.clone()).expect("key");
        let patient: AccountId = frame_benchmarking::account("patient", 0, 0);
        Identity::enrol(
            RuntimeOrigin::signed(accessor.clone()),
            pseudonym,
            patient.clone(),
        )
        .expect("enrol");
        Identity::claim(RuntimeOrigin::signed(patient.clone()), pseudonym).expect("claim");
        let subject =
            pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(&patient).expect("subject");
        Consent::grant(
            RuntimeOrigin::signed(patient),
            subject,
            Grantee::Institution(id),
            PurposeSet::of(&[purpose]),
            categories,
            None,
            None,
            None,
        )
        .expect("grant");
    }
}
