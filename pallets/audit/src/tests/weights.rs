//! What calls are charged before dispatch against what they report they used.

use super::*;

#[test]
fn page_writes_charged_up_front_are_refunded_when_not_made() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, LIMITED);
        let write = <Test as frame_system::Config>::DbWeight::get().writes(1);
        assert!(write.ref_time() > 0);
        // The benchmarked case for one consent read and cited.
        let charged = <Test as Config>::WeightInfo::request_access();
        let call = || used(request_as(LAB_KEY, PSEUDONYM));
        // Records 0..3 fill the institution's tail; 4 flushes it.
        for _ in 0..4 {
            assert_eq!(call(), charged - write);
        }
        assert_eq!(call(), charged);
        // A batch of three new records after that: the tails hold one, so none flushes.
        let batch: BoundedVec<_, _> = vec![PSEUDONYM; 3].try_into().unwrap();
        let charged = <Test as Config>::WeightInfo::request_access_batch(3);
        let used = Audit::request_access_batch(
            RuntimeOrigin::signed(LAB_KEY),
            batch,
            Purpose::Simulation,
            labs(),
            JOB,
            1,
        )
        .unwrap()
        .actual_weight
        .unwrap();
        // One institution page could have been written.
        assert_eq!(used, charged - write);
    });
}

/// A use limit the tests never reach. The benchmarks measure use-limited consents (a use counted
/// is a write); most tests here keep to that case, and
/// `uses_of_unlimited_consents_are_refunded_not_written` checks the other.
const LIMITED: Option<u32> = Some(1_000);

fn grant(grantee: Grantee, categories: CategorySet) {
    assert_ok!(ConsentPallet::grant(
        RuntimeOrigin::signed(PATIENT),
        SUBJECT,
        grantee,
        PurposeSet::of(&[Purpose::Simulation]),
        categories,
        None,
        None,
        LIMITED
    ));
}

fn used(call: frame_support::dispatch::DispatchResultWithPostInfo) -> Weight {
    call.unwrap().actual_weight.unwrap()
}

/// A permit citing an unlimited consent counts no use, so it is not charged for that write nor
/// for rewriting the patient's consent index; a limited one is, and its count moves. Single
/// requests and a batch of three, each the first call on a fresh chain (no page flushed), over a
/// limited and an unlimited consent.
#[test]
fn uses_of_unlimited_consents_are_refunded_not_written() {
    let write = <Test as frame_system::Config>::DbWeight::get().writes(1);
    assert!(write.ref_time() > 0);
    let first_call = |max_uses, records: usize| {
        new_test_ext().execute_with(|| {
            let consent = grant_lab(Purpose::Simulation, max_uses);
            let weight = used(if records == 1 {
                request_as(LAB_KEY, PSEUDONYM)
            } else {
                Audit::request_access_batch(
                    RuntimeOrigin::signed(LAB_KEY),
                    vec![PSEUDONYM; records].try_into().unwrap(),
                    Purpose::Simulation,
                    labs(),
                    JOB,
                    1,
                )
            });
            assert_eq!(NextAccessId::<Test>::get(), records as u64);
            assert_eq!(
                Audit::record(Some(SUBJECT), 0).unwrap().state,
                AccessState::Granted
            );
            let uses = consent::Consents::<Test>::get(consent).unwrap().uses;
            (weight, uses)
        })
    };
    for records in [1, 3] {
        let (limited, limited_uses) = first_call(LIMITED, records);
        let (unlimited, unlimited_uses) = first_call(None, records);
        assert_eq!((limited_uses, unlimited_uses), (records as u32, 0));
        assert_eq!(
            unlimited,
            limited - write.saturating_mul(2 * records as u64),
            "{records} records"
        );
    }
}

#[test]
fn requests_pay_for_every_consent_read_and_cited_and_no_more_than_charged() {
    use frame_support::dispatch::GetDispatchInfo;
    new_test_ext().execute_with(|| {
        let w = |c, k| <Test as Config>::WeightInfo::request_access_consents(c, k);
        let single = |categories| {
            used(Audit::request_access(
                RuntimeOrigin::signed(LAB_KEY),
                PSEUDONYM,
                Purpose::Simulation,
                categories,
                JOB,
            ))
        };
        let charged = crate::Call::<Test>::request_access {
            pseudonym: PSEUDONYM,
            purpose: Purpose::Simulation,
            categories: labs(),
            job_digest: JOB,
        }
        .get_dispatch_info()
        .call_weight;
        // Records 0 to 2: no index page fills, so all three carry the same page refund.
        grant_lab(Purpose::Simulation, LIMITED);
        let one = single(labs());
        // A consent to another institution is read by the decision, not cited.
        grant(Grantee::Institution(HOSPITAL), labs());
        let two_read = single(labs());
        assert_eq!(two_read - one, w(1, 1) - w(0, 1));
        // A second category needs a second consent: three read, two cited.
        grant(Grantee::Institution(LAB), CategorySet::of(&[C::Genomic]));
        let two_cited = single(CategorySet::of(&[C::Labs, C::Genomic]));
        assert_eq!(two_cited - one, w(1, 2) - w(0, 1));
        // A consent read but not cited is no storage read of its own (the patient's index holds
        // it inline): it adds only its benchmarked slope (asserted above), which may be nothing.
        // A cited one adds a use counted, a write.
        assert!(two_cited.ref_time() > two_read.ref_time());
        for actual in [one, two_read] {
            assert!(actual.all_lte(charged), "{actual:?} above {charged:?}");
        }
        // The charge covers a patient whose consent index is full, the permit citing one consent
        // per requested category; a request over more categories is charged for more.
        let max = <ConsentPallet as ConsentCheck<u64>>::max_consents_read();
        let full = w(max - 1, 1) - w(0, 1);
        assert!((<Test as Config>::WeightInfo::request_access() + full).all_lte(charged));
        let two_categories = crate::Call::<Test>::request_access {
            pseudonym: PSEUDONYM,
            purpose: Purpose::Simulation,
            categories: CategorySet::of(&[C::Labs, C::Genomic]),
            job_digest: JOB,
        }
        .get_dispatch_info()
        .call_weight;
        assert!(two_categories.ref_time() > charged.ref_time());
        assert!(two_cited.all_lte(two_categories));
    });
}

#[test]
fn batches_pay_for_every_consent_read_beyond_one_per_record() {
    new_test_ext().execute_with(|| {
        let batch = || {
            let pseudonyms: BoundedVec<_, _> = vec![PSEUDONYM; 2].try_into().unwrap();
            used(Audit::request_access_batch(
                RuntimeOrigin::signed(LAB_KEY),
                pseudonyms,
                Purpose::Simulation,
                labs(),
                JOB,
                2,
            ))
        };
        let w = |c, k| <Test as Config>::WeightInfo::request_access_consents(c, k);
        // Records 0-1 and 2-3: neither batch fills a tail.
        grant_lab(Purpose::Simulation, LIMITED);
        let one_each = batch();
        grant(Grantee::Institution(HOSPITAL), labs());
        let two_each = batch();
        // Each of the two records read one consent more: charged its slope (see above), no more.
        assert_eq!(two_each - one_each, w(2, 2) - w(0, 2));
    });
}

/// A cohort request is charged for the consents its bound names, not for full consent indexes,
/// and never less than it then uses.
#[test]
fn batches_are_charged_for_their_consents_bound() {
    use frame_support::{dispatch::GetDispatchInfo, traits::Get};
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, LIMITED);
        let call = |consents_bound| crate::Call::<Test>::request_access_batch {
            pseudonyms: vec![PSEUDONYM; 4].try_into().unwrap(),
            purpose: Purpose::Simulation,
            categories: labs(),
            job_digest: JOB,
            consents_bound,
        };
        let charged = |bound| call(bound).get_dispatch_info().call_weight;
        let full = <Test as consent::Config>::MaxIndexedConsents::get();
        // One consent per record is what the batch benchmark measured.
        assert_eq!(
            charged(1),
            <Test as Config>::WeightInfo::request_access_batch(4)
        );
        // A higher bound is charged each further consent's slope (uncited consents are read in
        // the patient's one index read, so the slope may be nothing, never less).
        assert!(charged(1).all_lte(charged(2)));
        assert!(charged(2).all_lte(charged(full)));
        assert_eq!(
            charged(full) - charged(1),
            <Test as Config>::WeightInfo::request_access_consents(4 * (full - 1), 4)
                - <Test as Config>::WeightInfo::request_access_consents(0, 4)
        );
        // A bound past the index's is the index's.
        assert_eq!(charged(full), charged(u32::MAX));
        let used = used(Audit::request_access_batch(
            RuntimeOrigin::signed(LAB_KEY),
            vec![PSEUDONYM; 4].try_into().unwrap(),
            Purpose::Simulation,
            labs(),
            JOB,
            1,
        ));
        assert!(used.all_lte(charged(1)));
    });
}
