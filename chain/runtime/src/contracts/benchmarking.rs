//! Benchmarks of the contracts' chain extension ([`super::extension::run`]), for its generated
//! weights (`chain/runtime/src/weights/contracts_extension.rs`, `scripts/weights.sh extension`),
//! which [`super::extension::cost`] charges before a function reads anything.
//!
//! Each function runs on the longest input it takes and against its costliest state: an
//! institution key for `institution_of`; a full council that does not hold the account for
//! `is_council_member`; for `decide`, a patient named by pseudonym (`decide`) or by subject id
//! (`decide_by_subject`) holding `c` consents, every one of them read and weighed against a
//! request over every data category. The extension charges the costlier of the two.

use super::extension::{func, run};
use crate::{benchmarks::AuditHelper, AccountId, Runtime};
use alloc::vec::Vec;
use codec::Encode;
use consentry_primitives::{
    CategorySet, ConsentCheck, DataCategory, Decision, Purpose, SubjectId, SubjectRef,
};
use frame_benchmarking::{account, v2::*};
use pallet_consentry_audit::BenchmarkHelper;

/// What the benchmark macros expect of a pallet; only the runtime implements it.
pub trait Config: frame_system::Config {}
impl Config for Runtime {}

/// The benchmarked "pallet": the runtime's chain extension for contracts.
pub struct Pallet<T: Config>(frame_system::Pallet<T>);

/// An institution's key, and a patient enrolled by it under a pseudonym and claimed, holding `c`
/// consents to that institution for research, one data category each in turn. The audit
/// benchmarks' set-up: its consents carry use limits, the longest encoding a consent has.
fn patient_with_consents(c: u32) -> (AccountId, [u8; 32], SubjectId) {
    let accessor: AccountId = account("accessor", 0, 0);
    AuditHelper::institution(&accessor);
    let pseudonym = [7u8; 32];
    let consents: Vec<CategorySet> = (0..c as usize)
        .map(|i| CategorySet::of(&[DataCategory::ALL[i % DataCategory::ALL.len()]]))
        .collect();
    let subject = AuditHelper::patient(&accessor, 0, pseudonym, Purpose::Research, &consents);
    (accessor, pseudonym, subject)
}

/// `decide`'s input for `subject` and `accessor`: research over every data category, the
/// longest input the function takes.
fn decide_input(subject: SubjectRef, accessor: AccountId) -> Vec<u8> {
    let input = (subject, accessor, Purpose::Research, CategorySet::all()).encode();
    assert!(input.len() as u32 <= super::extension::MAX_INPUT);
    input
}

/// Checks that `decide` answered after reading all `c` consents of `subject`.
fn assert_decided(output: &[u8], subject: SubjectId, c: u32) {
    assert_eq!(
        <crate::Consent as ConsentCheck<AccountId>>::consents_read(subject),
        c
    );
    let decision: Decision = codec::Decode::decode(&mut &output[..]).expect("a decision");
    let permit = matches!(decision, Decision::Permit { .. });
    assert_eq!(permit, c as usize >= DataCategory::ALL.len());
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn institution_of() {
        let key: AccountId = account("key", 0, 0);
        let id = pallet_consentry_identity::NextInstitutionId::<Runtime>::get();
        AuditHelper::institution(&key);
        let input = key.encode();
        let output;

        #[block]
        {
            output = run(func::INSTITUTION_OF, &input, 0).expect("runs");
        }
        let info: Option<super::super::extension::InstitutionInfo> =
            codec::Decode::decode(&mut &output[..]).expect("decodes");
        assert_eq!(info.map(|i| (i.id, i.active)), Some((id, true)));
    }

    #[benchmark]
    fn is_council_member() {
        let stranger: AccountId = account("stranger", 0, 0);
        crate::permission::benchmarking::full_lists(&stranger, None);
        let input = stranger.encode();
        let output;

        #[block]
        {
            output = run(func::IS_COUNCIL_MEMBER, &input, 0).expect("runs");
        }
        assert_eq!(output, false.encode());
    }

    /// `decide` by pseudonym for a patient holding `c` consents to the accessor's institution,
    /// one data category each in turn, asked about every category: a permit once every category
    /// is covered, and every consent is read either way.
    #[benchmark]
    fn decide(c: Linear<0, { <crate::Consent as ConsentCheck<AccountId>>::max_live_consents() }>) {
        let (accessor, pseudonym, subject) = patient_with_consents(c);
        let input = decide_input(SubjectRef::Pseudonym(pseudonym), accessor);
        let output;

        #[block]
        {
            output = run(func::DECIDE, &input, 0).expect("runs");
        }
        assert_decided(&output, subject, c);
    }

    /// `decide` as [`decide`], the patient named by subject id: it reads the subject's record
    /// where the other reads the pseudonym's link.
    #[benchmark]
    fn decide_by_subject(
        c: Linear<0, { <crate::Consent as ConsentCheck<AccountId>>::max_live_consents() }>,
    ) {
        let (accessor, _, subject) = patient_with_consents(c);
        let input = decide_input(SubjectRef::Subject(subject), accessor);
        let output;

        #[block]
        {
            output = run(func::DECIDE, &input, 0).expect("runs");
        }
        assert_decided(&output, subject, c);
    }

    impl_benchmark_test_suite!(Pallet, crate::tests::ext(), Runtime);
}
