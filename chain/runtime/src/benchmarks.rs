//! Which pallets the node's `benchmark pallet` command can measure, and the set-up the audit
//! benchmarks need from the real runtime.

use crate::*;
use consentry_primitives::{CategorySet, Grantee, Purpose, PurposeSet, Role, RoleSet, SubjectId};

frame_benchmarking::define_benchmarks!(
    [frame_benchmarking, BaselineBench::<Runtime>]
    [frame_system, SystemBench::<Runtime>]
    [frame_system_extensions, SystemExtensionsBench::<Runtime>]
    [consentry_permission, PermissionBench::<Runtime>]
    [consentry_contracts_extension, ExtensionBench::<Runtime>]
    [pallet_node_authorization, NodeAuthorizationBench::<Runtime>]
    [pallet_consentry_identity, Identity]
    [pallet_consentry_consent, Consent]
    [pallet_consentry_audit, Audit]
    [pallet_consentry_validators, ValidatorSet]
);

/// Sets up institutions, enrolled patients and their consents through the real pallets.
pub struct AuditHelper;

impl pallet_consentry_audit::BenchmarkHelper<AccountId> for AuditHelper {
    fn institution(accessor: &AccountId) {
        let root = RuntimeOrigin::root;
        let id = pallet_consentry_identity::NextInstitutionId::<Runtime>::get();
        Identity::register_institution(
            root(),
            b"bench".to_vec(),
            RoleSet::of(&[Role::DataCustodian, Role::Researcher]),
        )
        .expect("register");
        Identity::add_service_key(root(), id, accessor.clone()).expect("key");
    }

    fn patient(
        accessor: &AccountId,
        i: u32,
        pseudonym: [u8; 32],
        purpose: Purpose,
        consents: &[CategorySet],
    ) -> SubjectId {
        let institution =
            pallet_consentry_identity::ServiceKeys::<Runtime>::get(accessor).expect("institution");
        let patient: AccountId = frame_benchmarking::account("patient", i, 0);
        Identity::enrol(
            RuntimeOrigin::signed(accessor.clone()),
            pseudonym,
            patient.clone(),
        )
        .expect("enrol");
        Identity::claim(RuntimeOrigin::signed(patient.clone()), pseudonym).expect("claim");
        let subject =
            pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(&patient).expect("subject");
        // Use-limited consents: consuming them writes, the costlier case.
        for categories in consents {
            Consent::grant(
                RuntimeOrigin::signed(patient.clone()),
                subject,
                Grantee::Institution(institution),
                PurposeSet::of(&[purpose]),
                *categories,
                None,
                None,
                Some(u32::MAX),
            )
            .expect("grant");
        }
        subject
    }
}
