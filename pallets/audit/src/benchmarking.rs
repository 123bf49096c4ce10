//! Benchmarks for every call of the audit pallet, each in its costliest case: the request is
//! granted (the decision reads use-limited consents and consumes those it cites), every record is
//! for a different patient, and the institution's index head is full, so the call also writes a
//! full index page. The calls are measured with one consent per patient; `request_access_consents` measures
//! what each further consent read or cited adds (see [`crate::cost`] for how they combine). The
//! calls refund what did not happen.

use super::*;
use crate::{cost::MOST_CITED, Pallet as Audit};
use alloc::vec::Vec;
use consentry_primitives::DataCategory;
use frame_benchmarking::v2::*;
use frame_support::{traits::Get, BoundedVec};
use frame_system::RawOrigin;

fn categories() -> CategorySet {
    CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
    ])
}

fn pseudonym(i: u32) -> Pseudonym {
    let mut p = [42; 32];
    p[..4].copy_from_slice(&i.to_le_bytes());
    p
}

/// An index head whose tail is full: the next append writes a page.
fn full_head<T: Config>() -> IndexHead<T::IndexPage> {
    let mut head = IndexHead::default();
    for id in 0..T::IndexPage::get() {
        let key = RecordKey {
            subject: Some(u64::from(id)),
            id: u64::from(id) + 1_000_000,
        };
        assert!(head.push(key).is_none());
    }
    head
}

/// A worker key of a new institution, whose index head is full, and `n` patients who each
/// granted it `consents`.
fn setup<T: Config>(
    n: u32,
    consents: &[CategorySet],
) -> (T::AccountId, Vec<(Pseudonym, SubjectId)>) {
    let who: T::AccountId = account("worker", 0, 0);
    T::BenchmarkHelper::institution(&who);
    let institution = pallet_consentry_identity::ServiceKeys::<T>::get(&who)
        .expect("helper registers the worker");
    InstitutionIndex::<T>::mutate(institution, |log| log.index = full_head::<T>());
    let patients = (0..n)
        .map(|i| {
            let p = pseudonym(i);
            let subject = T::BenchmarkHelper::patient(&who, i, p, Purpose::Simulation, consents);
            (p, subject)
        })
        .collect();
    (who, patients)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn request_access() {
        let (who, patients) = setup::<T>(1, &[categories()]);
        let (pseudonym, subject) = patients[0];
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            pseudonym,
            Purpose::Simulation,
            categories(),
            [1; 32],
        );
        assert_eq!(
            Audit::<T>::record(Some(subject), 0).unwrap().state,
            AccessState::Granted
        );
        assert!(InstitutionPages::<T>::iter().next().is_some());
    }

    /// `request_access` for a patient holding `k` consents of one category each, all cited for a
    /// request over those `k` categories, and `c` newer consents to the first of them, read but
    /// not cited. Only its slopes are used (what one more consent costs): the common case, one
    /// consent, is `request_access` itself.
    #[benchmark]
    fn request_access_consents(
        c: Linear<0, { T::ConsentCheck::max_live_consents().saturating_sub(MOST_CITED) }>,
        k: Linear<1, MOST_CITED>,
    ) {
        let cited: Vec<CategorySet> = DataCategory::ALL[..k as usize]
            .iter()
            .map(|d| CategorySet::of(&[*d]))
            .collect();
        let requested = cited.iter().fold(CategorySet::empty(), |a, s| a.union(*s));
        let mut consents = cited.clone();
        consents.extend((0..c).map(|_| cited[0]));
        let (who, patients) = setup::<T>(1, &consents);
        let (pseudonym, subject) = patients[0];
        #[block]
        {
            Audit::<T>::request_access(
                RawOrigin::Signed(who).into(),
                pseudonym,
                Purpose::Simulation,
                requested,
                [1; 32],
            )
            .expect("a well-formed request");
        }
        let record = Audit::<T>::record(Some(subject), 0).unwrap();
        assert_eq!(record.state, AccessState::Granted);
        assert_eq!(record.consents.len() as u32, k);
        assert_eq!(T::ConsentCheck::consents_read(subject), c + k);
    }

    #[benchmark]
    fn request_access_batch(n: Linear<1, { T::MaxBatch::get() }>) {
        let (who, patients) = setup::<T>(n, &[categories()]);
        let batch: BoundedVec<_, T::MaxBatch> = patients
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            batch,
            Purpose::Simulation,
            categories(),
            [1; 32],
            1,
        );
        assert_eq!(NextAccessId::<T>::get(), n as u64);
        let institution = pallet_consentry_identity::ServiceKeys::<T>::get(&who).unwrap();
        assert_eq!(Audit::<T>::counts(institution).granted, n);
        assert!(patients
            .iter()
            .enumerate()
            .all(|(i, (_, s))| Audit::<T>::record(Some(*s), i as u64).is_some()));
    }

    #[benchmark]
    fn emergency_access() {
        let (who, patients) = setup::<T>(1, &[categories()]);
        let (pseudonym, subject) = patients[0];
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            pseudonym,
            categories(),
            [2; 32],
            [1; 32],
        );
        assert_eq!(
            Audit::<T>::record(Some(subject), 0).unwrap().emergency,
            Some([2; 32])
        );
    }

    #[benchmark]
    fn complete_access() {
        let (who, patients) = setup::<T>(1, &[categories()]);
        let (pseudonym, subject) = patients[0];
        Audit::<T>::request_access(
            RawOrigin::Signed(who.clone()).into(),
            pseudonym,
            Purpose::Simulation,
            categories(),
            [1; 32],
        )
        .unwrap();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            subject,
            0,
            Outcome::Completed,
            Some([3; 32]),
        );
        assert_eq!(
            Audit::<T>::record(Some(subject), 0).unwrap().state,
            AccessState::Closed(Outcome::Completed)
        );
    }

    /// Not in `WeightInfo`: the call is charged as `n` single closes; this measures how far
    /// below that bound a batch stays.
    #[benchmark]
    fn complete_access_batch(n: Linear<1, { T::MaxBatch::get() }>) {
        let (who, patients) = setup::<T>(n, &[categories()]);
        let batch: BoundedVec<_, T::MaxBatch> = patients
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        Audit::<T>::request_access_batch(
            RawOrigin::Signed(who.clone()).into(),
            batch,
            Purpose::Simulation,
            categories(),
            [1; 32],
            1,
        )
        .unwrap();
        let closes: BoundedVec<_, T::MaxBatch> = patients
            .iter()
            .enumerate()
            .map(|(i, (_, s))| (*s, i as u64))
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            closes,
            Outcome::Completed,
            Some([3; 32]),
        );
        let institution = pallet_consentry_identity::ServiceKeys::<T>::get(&who).unwrap();
        assert_eq!(Audit::<T>::counts(institution).completed, n);
    }

    impl_benchmark_test_suite!(Audit, crate::mock::new_test_ext(), crate::mock::Test);
}
