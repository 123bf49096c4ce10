//! One request call (`request_access`, `request_access_batch`, `emergency_access`) as it runs.
//!
//! A cohort request decides and records up to `MaxBatch` accesses for one signer. What is the same
//! for all of them — the signer's institution and its status, the time, the next record id and the
//! institution's log — cannot change within the call, so it is read once when the call starts and
//! written once when it ends ([`RequestCall::finish`]). Reading and re-encoding the institution's
//! log and the id counter for every record was about a sixth of a cohort record's execution time.

use crate::{
    cost, AccessState, Config, Event, InstitutionIndex, InstitutionPages, NewestFirst, Pallet,
    PseudonymRecords, RecordKey, RecordOf, Records,
};
use consentry_primitives::{
    AccessId, AccessRecord, AccessorStatus, CategorySet, ConsentCheck, Decision, Digest,
    InstitutionId, Moment, Pseudonym, Purpose, SubjectRef,
};
use frame_support::{traits::Time, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use pallet_consentry_identity as identity;

/// The state a request call shares across its records.
pub(crate) struct RequestCall<T: Config> {
    who: T::AccountId,
    institution: InstitutionId,
    /// The signer's standing at the start of the call: a request never changes it.
    pub(crate) accessor: AccessorStatus,
    now: Moment,
    block: BlockNumberFor<T>,
    next_id: AccessId,
    log: crate::InstitutionLog<T::IndexPage>,
}

impl<T: Config> RequestCall<T> {
    /// Reads what the call's records share. `institution` is `who`'s.
    pub(crate) fn start(who: T::AccountId, institution: InstitutionId) -> Self {
        let accessor = identity::Pallet::<T>::institution_status(institution);
        Self {
            who,
            institution,
            accessor,
            now: <T as identity::Config>::Time::now(),
            block: frame_system::Pallet::<T>::block_number(),
            next_id: crate::NextAccessId::<T>::get(),
            log: InstitutionIndex::<T>::get(institution),
        }
    }

    /// Writes back what the call's records changed of the shared state. Must be called once,
    /// after the last record; dispatch is transactional, so an early error loses nothing.
    pub(crate) fn finish(self) {
        crate::NextAccessId::<T>::put(self.next_id);
        InstitutionIndex::<T>::insert(self.institution, self.log);
    }

    /// Decides one request and records it; returns what that cost (see [`cost`]).
    pub(crate) fn decide_and_record(
        &mut self,
        pseudonym: Pseudonym,
        purpose: Purpose,
        categories: CategorySet,
        job_digest: Digest,
    ) -> cost::Tally {
        let decision = T::ConsentCheck::decide_as(
            SubjectRef::Pseudonym(pseudonym),
            self.accessor,
            purpose,
            categories,
            self.now,
        );
        let (read, cited, counted) = match &decision {
            Decision::Permit { subject, consents } => (
                T::ConsentCheck::consents_read(*subject),
                consents.len() as u32,
                T::ConsentCheck::consume(*subject, consents),
            ),
            Decision::Deny {
                subject: Some(subject),
                ..
            } => (T::ConsentCheck::consents_read(*subject), 0, 0),
            Decision::Deny { subject: None, .. } => (0, 0, 0),
        };
        let (record, flushes) =
            self.record(pseudonym, purpose, categories, job_digest, decision, None);
        match (record.state, record.subject) {
            (AccessState::Granted, Some(subject)) => {
                Pallet::<T>::deposit_event(Event::AccessGranted {
                    id: record.id,
                    institution: self.institution,
                    subject,
                    purpose,
                    categories,
                })
            }
            _ => Pallet::<T>::deposit_denied(&record),
        }
        cost::Tally {
            records: 1,
            flushes,
            uncited: read.saturating_sub(cited),
            cited,
            counted,
            reindexed: u32::from(counted > 0),
        }
    }

    /// Stores one record and indexes it; returns it with the number of institution index pages
    /// written (0 or 1). The only place records are created.
    pub(crate) fn record(
        &mut self,
        pseudonym: Pseudonym,
        purpose: Purpose,
        categories: CategorySet,
        job_digest: Digest,
        decision: Decision,
        emergency: Option<Digest>,
    ) -> (RecordOf<T>, u32) {
        let id = self.next_id;
        self.next_id = id.saturating_add(1);
        let (subject, state, consents) = match decision {
            Decision::Permit { subject, consents } => {
                // A permit never cites more consents than there are categories (at most 16),
                // and MaxPermitConsents covers every defined category.
                let consents = BoundedVec::truncate_from(consents);
                (Some(subject), AccessState::Granted, consents)
            }
            Decision::Deny { subject, reason } => {
                (subject, AccessState::Denied(reason), BoundedVec::new())
            }
        };
        let record = AccessRecord {
            id,
            institution: self.institution,
            requested_by: self.who.clone(),
            pseudonym,
            subject,
            purpose,
            categories,
            job_digest,
            consents,
            emergency,
            state,
            result_digest: None,
            requested_at: self.now,
            block: self.block,
            closed_at: None,
        };
        // The record is its subject's index entry; the institution's is the log's head. A record
        // under no subject is indexed by its pseudonym, for the patient who claims it later.
        Records::<T>::insert(subject, NewestFirst::of(id), &record);
        if subject.is_none() {
            PseudonymRecords::<T>::insert(pseudonym, NewestFirst::of(id), ());
        }
        self.log.counts.shift(None, state);
        if emergency.is_some() && state == AccessState::Granted {
            self.log.counts.emergency = self.log.counts.emergency.saturating_add(1);
        }
        let flushed = self
            .log
            .index
            .push(RecordKey { subject, id })
            .map(|(page, keys)| InstitutionPages::<T>::insert(self.institution, page, keys));
        (record, u32::from(flushed.is_some()))
    }
}
