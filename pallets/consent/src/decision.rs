//! The consent decision: the one place that says whether an access is permitted.

use crate::{Config, Consents, Pallet, SubjectConsents};
use alloc::vec::Vec;
use consentry_primitives::{
    AccessorStatus, CategorySet, Consent, ConsentCheck, ConsentId, ConsentStatus, Decision,
    DenyReason, Grantee, Moment, Purpose, SubjectId, SubjectRef,
};
use frame_support::traits::Get;
use pallet_consentry_identity as identity;

/// Why `consent` does not permit anything at `now`, if it does not (purpose and category aside).
pub(crate) fn failure<A>(consent: &Consent<A>, now: Moment) -> Option<DenyReason> {
    if consent.status != ConsentStatus::Active {
        return Some(DenyReason::Revoked);
    }
    if now < consent.valid_from {
        return Some(DenyReason::NotYetValid);
    }
    if consent.valid_until.is_some_and(|until| now >= until) {
        return Some(DenyReason::Expired);
    }
    if consent.max_uses.is_some_and(|max| consent.uses >= max) {
        return Some(DenyReason::UsesExhausted);
    }
    None
}

/// Decides over an already-resolved list of the subject's consents. Kept free of storage so the
/// property tests' reference model can be compared against exactly this logic's inputs.
pub(crate) fn decide_over<A>(
    consents: &[(ConsentId, Consent<A>)],
    institution: consentry_primitives::InstitutionId,
    roles: consentry_primitives::RoleSet,
    purpose: Purpose,
    categories: CategorySet,
    now: Moment,
) -> Result<Vec<ConsentId>, DenyReason> {
    let names_accessor = |c: &Consent<A>| match c.grantee {
        Grantee::Institution(id) => id == institution,
        Grantee::AnyWithRole(role) => roles.contains(role),
    };
    let mut worst: Option<DenyReason> = None;
    let mut usable: Vec<(ConsentId, CategorySet)> = Vec::new();
    for (id, c) in consents.iter().filter(|(_, c)| names_accessor(c)) {
        let reason = failure(c, now)
            .or((!c.purposes.contains(purpose)).then_some(DenyReason::PurposeNotCovered));
        match reason {
            None => usable.push((*id, c.categories)),
            Some(r) => worst = Some(worst.map_or(r, |w| w.max(r))),
        }
    }
    if usable.is_empty() {
        return Err(worst.unwrap_or(DenyReason::NoConsent));
    }
    let covered = usable
        .iter()
        .fold(CategorySet::empty(), |acc, (_, c)| acc.union(*c));
    if categories.is_empty() || !covered.includes(categories) {
        return Err(DenyReason::CategoryNotCovered);
    }
    // For each category, the oldest usable consent covering it; together they are the permit.
    let mut permit: Vec<ConsentId> = Vec::new();
    for category in categories.iter() {
        if let Some((id, _)) = usable.iter().find(|(_, c)| c.contains(category)) {
            if !permit.contains(id) {
                permit.push(*id);
            }
        }
    }
    Ok(permit)
}

impl<T: Config> ConsentCheck<T::AccountId> for Pallet<T> {
    fn decide(
        subject: SubjectRef,
        accessor: &T::AccountId,
        purpose: Purpose,
        categories: CategorySet,
        now: Moment,
    ) -> Decision {
        let status = identity::Pallet::<T>::accessor_status(accessor);
        Self::decide_as(subject, status, purpose, categories, now)
    }

    fn decide_as(
        subject: SubjectRef,
        accessor: AccessorStatus,
        purpose: Purpose,
        categories: CategorySet,
        now: Moment,
    ) -> Decision {
        let (institution, roles) = match accessor {
            AccessorStatus::NotRegistered => {
                return Decision::Deny {
                    subject: None,
                    reason: DenyReason::AccessorNotRegistered,
                }
            }
            AccessorStatus::Suspended { .. } => {
                return Decision::Deny {
                    subject: None,
                    reason: DenyReason::AccessorSuspended,
                }
            }
            AccessorStatus::Active { institution, roles } => (institution, roles),
        };
        let subject = match subject {
            SubjectRef::Subject(s) => match identity::Subjects::<T>::get(s) {
                None => {
                    return Decision::Deny {
                        subject: None,
                        reason: DenyReason::UnknownSubject,
                    }
                }
                Some(record) if record.erased_at.is_some() => {
                    return Decision::Deny {
                        subject: Some(s),
                        reason: DenyReason::SubjectErased,
                    }
                }
                Some(_) => s,
            },
            // A link that resolves is claimed and not erased, and only a subject that is not
            // erased can claim (`identity::claim`), while forgetting a subject erases all its
            // links (`identity::forget`): so the subject needs no second read here. That read
            // was a fifth of a cohort request's storage reads.
            SubjectRef::Pseudonym(p) => match identity::Pallet::<T>::resolve(&p) {
                Ok(s) => s,
                Err(erased) => {
                    let reason = if erased {
                        DenyReason::SubjectErased
                    } else {
                        DenyReason::UnknownSubject
                    };
                    let subject = identity::Pseudonyms::<T>::get(p).and_then(|l| l.subject);
                    return Decision::Deny { subject, reason };
                }
            },
        };
        let consents = Pallet::<T>::consents_of(subject);
        match decide_over(&consents, institution, roles, purpose, categories, now) {
            Ok(consents) => Decision::Permit { subject, consents },
            Err(reason) => Decision::Deny {
                subject: Some(subject),
                reason,
            },
        }
    }

    fn consume(subject: SubjectId, permit: &[ConsentId]) -> u32 {
        // The index was just read by the decision (cached). Only limited consents count uses,
        // each written by id, and the index once if any did: `mutate` would write it always.
        let mut index = SubjectConsents::<T>::get(subject);
        let mut counted = 0;
        for (id, c) in index.iter_mut() {
            if permit.contains(id) && c.max_uses.is_some() {
                c.uses = c.uses.saturating_add(1);
                Consents::<T>::insert(*id, &*c);
                counted += 1;
            }
        }
        if counted > 0 {
            SubjectConsents::<T>::insert(subject, index);
        }
        counted
    }

    fn consents_read(subject: SubjectId) -> u32 {
        SubjectConsents::<T>::decode_len(subject).unwrap_or(0) as u32
    }

    fn max_consents_read() -> u32 {
        T::MaxIndexedConsents::get()
    }

    fn max_live_consents() -> u32 {
        T::MaxLiveConsents::get()
    }
}
