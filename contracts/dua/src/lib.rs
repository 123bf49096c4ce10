//! Data-use agreements between institutions: one registry contract holding every agreement.
//!
//! An agreement names a data custodian and one or more recipients (institution ids), the purposes
//! and data categories it covers, a period, an optional cap on records and the digest of its legal
//! text. One party proposes it (which is that party's signature); it is in force once every party
//! has signed, each with an active service key of its institution (the chain extension's
//! `institution_of`), and until its period ends or a party terminates it. `in_force` answers the
//! custodian's worker's question "may this recipient use these categories for this purpose now?"
//! with the id of an agreement that allows it.
//!
//! Every message checks everything before it writes, and returns an error naming what is wrong;
//! an error also reverts the call on chain. Storage is bounded: at most
//! [`MAX_RECIPIENTS`] recipients per agreement and [`MAX_LIVE_PER_INSTITUTION`] live (proposed
//! or in force) agreements per institution; terminated and expired ones leave the live index.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

pub use consentry_ink_env::{
    CategorySet, Decision, Digest, InstitutionId, InstitutionInfo, Moment, Purpose, PurposeSet,
    Role, SubjectRef,
};

/// An agreement's id: 0, 1, 2, … in order of proposal.
pub type DuaId = u64;

/// Most recipients one agreement may name.
pub const MAX_RECIPIENTS: usize = 8;
/// Most live (proposed or in force) agreements one institution may be a party to.
pub const MAX_LIVE_PER_INSTITUTION: usize = 32;

#[ink::contract(env = consentry_ink_env::ConsentryEnv)]
pub mod dua {
    use super::*;
    use ink::prelude::vec::Vec;
    use ink::storage::Mapping;

    /// What the parties agree to.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Terms {
        /// The institution that holds the data.
        pub custodian: InstitutionId,
        /// The institutions that may use it (1 to `MAX_RECIPIENTS`, distinct, not the custodian).
        pub recipients: Vec<InstitutionId>,
        /// The purposes it may be used for (non-empty).
        pub purposes: PurposeSet,
        /// The data categories it covers (non-empty).
        pub categories: CategorySet,
        /// Start of the period (ms, inclusive).
        pub valid_from: Moment,
        /// End of the period (ms, exclusive).
        pub valid_until: Moment,
        /// Most access records the custodian may count against it (`None`: no cap; not 0).
        pub record_cap: Option<u64>,
        /// Digest of the legal text the parties sign.
        pub text_digest: Digest,
    }

    /// Where an agreement stands.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub enum Status {
        /// Waiting for signatures.
        Proposed,
        /// Every party signed (at `since`); in force while `now` is in its period.
        InForce { since: Moment },
        /// A party ended it.
        Terminated { by: InstitutionId, at: Moment },
        /// Marked ended because its period is over.
        Expired { at: Moment },
    }

    /// An agreement and its signatures.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Agreement {
        pub terms: Terms,
        /// The party that proposed it (its first signatory).
        pub proposer: InstitutionId,
        pub proposed_at: Moment,
        /// The parties that signed, in order.
        pub signatories: Vec<InstitutionId>,
        /// Access records the custodian counted against it.
        pub records_used: u64,
        pub status: Status,
    }

    impl Agreement {
        /// Custodian first, then the recipients.
        pub fn parties(&self) -> impl Iterator<Item = InstitutionId> + '_ {
            core::iter::once(self.terms.custodian).chain(self.terms.recipients.iter().copied())
        }

        fn is_party(&self, institution: InstitutionId) -> bool {
            self.parties().any(|p| p == institution)
        }

        fn is_live(&self) -> bool {
            matches!(self.status, Status::Proposed | Status::InForce { .. })
        }

        /// Whether it allows `recipient` to use `categories` for `purpose` at `now`.
        pub fn allows(
            &self,
            recipient: InstitutionId,
            purpose: Purpose,
            categories: CategorySet,
            now: Moment,
        ) -> bool {
            let t = &self.terms;
            matches!(self.status, Status::InForce { .. })
                && t.recipients.contains(&recipient)
                && t.purposes.contains(purpose)
                && t.categories.includes(categories)
                && t.valid_from <= now
                && now < t.valid_until
                && t.record_cap.is_none_or(|cap| self.records_used < cap)
        }
    }

    /// Why a message was refused.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Error {
        /// The caller is not a service key of any institution.
        CallerNotRegistered,
        /// The caller's institution is suspended.
        InstitutionSuspended { institution: InstitutionId },
        /// The caller's institution is not a party to the agreement.
        NotAParty { institution: InstitutionId },
        /// Only the custodian's keys may do this.
        NotTheCustodian { institution: InstitutionId },
        /// The custodian institution does not hold the data-custodian role.
        CustodianLacksRole { institution: InstitutionId },
        /// The terms name no recipient.
        NoRecipients,
        /// The terms name more than `MAX_RECIPIENTS` recipients.
        TooManyRecipients { given: u32, max: u32 },
        /// A recipient is named twice.
        DuplicateRecipient { institution: InstitutionId },
        /// The custodian is also named as a recipient.
        CustodianIsRecipient,
        /// The terms cover no purpose.
        NoPurposes,
        /// The purpose set has bits that name no purpose.
        UnknownPurposes { bits: u16 },
        /// The terms cover no data category.
        NoCategories,
        /// The category set has bits that name no category.
        UnknownCategories { bits: u16 },
        /// `valid_from` is not before `valid_until`.
        EmptyPeriod,
        /// `valid_until` is not after now.
        PeriodOver { valid_until: Moment, now: Moment },
        /// A record cap of 0 would allow nothing.
        ZeroRecordCap,
        /// The institution is a party to `MAX_LIVE_PER_INSTITUTION` live agreements already.
        TooManyLiveAgreements { institution: InstitutionId },
        /// No agreement has this id.
        UnknownAgreement { id: DuaId },
        /// The agreement is not waiting for signatures.
        NotProposed { id: DuaId },
        /// The caller's institution has signed already.
        AlreadySigned { institution: InstitutionId },
        /// The agreement was terminated or marked expired already.
        AlreadyEnded { id: DuaId },
        /// The agreement's period is not over yet.
        NotExpired { valid_until: Moment },
        /// The agreement is not in force now (not signed by all, outside its period, or ended).
        NotInForce { id: DuaId },
        /// Counting no records.
        ZeroRecords,
        /// Counting these records would pass the cap.
        RecordCapExceeded { used: u64, adding: u64, cap: u64 },
    }

    /// An agreement was proposed (and signed by its proposer).
    #[ink(event)]
    pub struct Proposed {
        #[ink(topic)]
        pub id: DuaId,
        pub proposer: InstitutionId,
        pub custodian: InstitutionId,
        pub recipients: Vec<InstitutionId>,
    }

    /// A party signed.
    #[ink(event)]
    pub struct Signed {
        #[ink(topic)]
        pub id: DuaId,
        pub institution: InstitutionId,
        pub key: AccountId,
    }

    /// The last party signed: the agreement is in force.
    #[ink(event)]
    pub struct InForce {
        #[ink(topic)]
        pub id: DuaId,
        pub since: Moment,
    }

    /// A party terminated the agreement.
    #[ink(event)]
    pub struct Terminated {
        #[ink(topic)]
        pub id: DuaId,
        pub by: InstitutionId,
        pub at: Moment,
    }

    /// The agreement's period is over and it was marked expired.
    #[ink(event)]
    pub struct Expired {
        #[ink(topic)]
        pub id: DuaId,
        pub at: Moment,
    }

    /// The custodian counted access records against the agreement.
    #[ink(event)]
    pub struct RecordsCounted {
        #[ink(topic)]
        pub id: DuaId,
        pub records: u64,
        pub total: u64,
    }

    /// The registry.
    #[ink(storage)]
    pub struct Registry {
        agreements: Mapping<DuaId, Agreement>,
        /// Per institution, the ids of the live agreements it is a party to (ascending).
        live: Mapping<InstitutionId, Vec<DuaId>>,
        next_id: DuaId,
    }

    impl Default for Registry {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Registry {
        /// An empty registry.
        #[ink(constructor, selector = 0xD0A0_0000)]
        pub fn new() -> Self {
            Self {
                agreements: Mapping::default(),
                live: Mapping::default(),
                next_id: 0,
            }
        }

        /// Proposes an agreement; the caller must be an active key of one of its parties, which
        /// thereby signs it. Returns its id.
        #[ink(message, selector = 0xD0A0_0001)]
        pub fn propose(&mut self, terms: Terms) -> Result<DuaId, Error> {
            let caller = self.caller_institution()?;
            let now = self.env().block_timestamp();
            check_terms(&terms, now)?;
            let me = caller.id;
            if me != terms.custodian && !terms.recipients.contains(&me) {
                return Err(Error::NotAParty { institution: me });
            }
            if me == terms.custodian && !caller.roles.contains(Role::DataCustodian) {
                return Err(Error::CustodianLacksRole { institution: me });
            }
            let parties: Vec<InstitutionId> = core::iter::once(terms.custodian)
                .chain(terms.recipients.iter().copied())
                .collect();
            for p in &parties {
                if self.live.get(p).unwrap_or_default().len() >= MAX_LIVE_PER_INSTITUTION {
                    return Err(Error::TooManyLiveAgreements { institution: *p });
                }
            }

            let id = self.next_id;
            self.next_id = id.checked_add(1).expect("2^64 agreements");
            for p in &parties {
                let mut ids = self.live.get(p).unwrap_or_default();
                ids.push(id);
                self.live.insert(p, &ids);
            }
            let recipients = terms.recipients.clone();
            let custodian = terms.custodian;
            self.agreements.insert(
                id,
                &Agreement {
                    terms,
                    proposer: me,
                    proposed_at: now,
                    signatories: ink::prelude::vec![me],
                    records_used: 0,
                    status: Status::Proposed,
                },
            );
            self.env().emit_event(Proposed {
                id,
                proposer: me,
                custodian,
                recipients,
            });
            self.env().emit_event(Signed {
                id,
                institution: me,
                key: self.env().caller(),
            });
            Ok(id)
        }

        /// Signs a proposed agreement for the caller's institution; the last signature puts it
        /// in force.
        #[ink(message, selector = 0xD0A0_0002)]
        pub fn sign(&mut self, id: DuaId) -> Result<(), Error> {
            let caller = self.caller_institution()?;
            let mut a = self.agreement(id)?;
            let now = self.env().block_timestamp();
            if !a.is_party(caller.id) {
                return Err(Error::NotAParty {
                    institution: caller.id,
                });
            }
            if a.status != Status::Proposed {
                return Err(Error::NotProposed { id });
            }
            if now >= a.terms.valid_until {
                return Err(Error::PeriodOver {
                    valid_until: a.terms.valid_until,
                    now,
                });
            }
            if a.signatories.contains(&caller.id) {
                return Err(Error::AlreadySigned {
                    institution: caller.id,
                });
            }
            if caller.id == a.terms.custodian && !caller.roles.contains(Role::DataCustodian) {
                return Err(Error::CustodianLacksRole {
                    institution: caller.id,
                });
            }
            a.signatories.push(caller.id);
            let complete = a.parties().all(|p| a.signatories.contains(&p));
            if complete {
                a.status = Status::InForce { since: now };
            }
            self.agreements.insert(id, &a);
            self.env().emit_event(Signed {
                id,
                institution: caller.id,
                key: self.env().caller(),
            });
            if complete {
                self.env().emit_event(InForce { id, since: now });
            }
            Ok(())
        }

        /// Ends a proposed or in-force agreement; any party's active key may.
        #[ink(message, selector = 0xD0A0_0003)]
        pub fn terminate(&mut self, id: DuaId) -> Result<(), Error> {
            let caller = self.caller_institution()?;
            let mut a = self.agreement(id)?;
            if !a.is_party(caller.id) {
                return Err(Error::NotAParty {
                    institution: caller.id,
                });
            }
            if !a.is_live() {
                return Err(Error::AlreadyEnded { id });
            }
            let at = self.env().block_timestamp();
            a.status = Status::Terminated { by: caller.id, at };
            self.retire(id, &a);
            self.env().emit_event(Terminated {
                id,
                by: caller.id,
                at,
            });
            Ok(())
        }

        /// Marks a live agreement whose period is over as expired, freeing its parties' live
        /// slots; any active institution key may.
        #[ink(message, selector = 0xD0A0_0004)]
        pub fn expire(&mut self, id: DuaId) -> Result<(), Error> {
            self.caller_institution()?;
            let mut a = self.agreement(id)?;
            if !a.is_live() {
                return Err(Error::AlreadyEnded { id });
            }
            let at = self.env().block_timestamp();
            if at < a.terms.valid_until {
                return Err(Error::NotExpired {
                    valid_until: a.terms.valid_until,
                });
            }
            a.status = Status::Expired { at };
            self.retire(id, &a);
            self.env().emit_event(Expired { id, at });
            Ok(())
        }

        /// The custodian counts `records` access records against an agreement in force; refused
        /// past the record cap. Returns the new total.
        #[ink(message, selector = 0xD0A0_0005)]
        pub fn count_records(&mut self, id: DuaId, records: u64) -> Result<u64, Error> {
            let caller = self.caller_institution()?;
            let mut a = self.agreement(id)?;
            if caller.id != a.terms.custodian {
                return Err(Error::NotTheCustodian {
                    institution: caller.id,
                });
            }
            let now = self.env().block_timestamp();
            let in_period = a.terms.valid_from <= now && now < a.terms.valid_until;
            if !matches!(a.status, Status::InForce { .. }) || !in_period {
                return Err(Error::NotInForce { id });
            }
            if records == 0 {
                return Err(Error::ZeroRecords);
            }
            let total = a.records_used.saturating_add(records);
            if let Some(cap) = a.terms.record_cap {
                if total > cap {
                    return Err(Error::RecordCapExceeded {
                        used: a.records_used,
                        adding: records,
                        cap,
                    });
                }
            }
            a.records_used = total;
            self.agreements.insert(id, &a);
            self.env().emit_event(RecordsCounted { id, records, total });
            Ok(total)
        }

        /// The lowest id of an agreement in force that lets `recipient` use `categories` of the
        /// custodian's data for `purpose` at time `now` (ms), if there is one: signed by every
        /// party, not ended, `valid_from <= now < valid_until`, under its record cap.
        #[ink(message, selector = 0xD0A0_0010)]
        pub fn in_force(
            &self,
            custodian: InstitutionId,
            recipient: InstitutionId,
            purpose: Purpose,
            categories: CategorySet,
            now: Moment,
        ) -> Option<DuaId> {
            self.live
                .get(custodian)
                .unwrap_or_default()
                .into_iter()
                .find(|id| {
                    self.agreements.get(id).is_some_and(|a| {
                        a.terms.custodian == custodian
                            && a.allows(recipient, purpose, categories, now)
                    })
                })
        }

        /// Whether agreement `id` lets `recipient` use `categories` of `custodian`'s data for
        /// `purpose` at time `now` (ms): the custodian's worker asks this of the agreement a job
        /// names before it requests any access (a job may name any agreement that allows it, not
        /// only the lowest `in_force` finds).
        #[ink(message, selector = 0xD0A0_0014)]
        pub fn allows(
            &self,
            id: DuaId,
            custodian: InstitutionId,
            recipient: InstitutionId,
            purpose: Purpose,
            categories: CategorySet,
            now: Moment,
        ) -> bool {
            self.agreements.get(id).is_some_and(|a| {
                a.terms.custodian == custodian && a.allows(recipient, purpose, categories, now)
            })
        }

        /// What the chain's consent check decides now for `accessor` using `categories` of
        /// `subject` for `purpose` (the chain extension's `decide` at the block's time): the same
        /// decision the audit pallet records, but nothing is recorded and no use is consumed. A
        /// recipient asks it before naming a patient in a job; an agreement never replaces it.
        #[ink(message, selector = 0xD0A0_0015)]
        pub fn consent(
            &self,
            subject: SubjectRef,
            accessor: AccountId,
            purpose: Purpose,
            categories: CategorySet,
        ) -> Decision {
            self.env()
                .extension()
                .decide(subject, accessor, purpose, categories)
        }

        /// The agreement with this id.
        #[ink(message, selector = 0xD0A0_0011)]
        pub fn get(&self, id: DuaId) -> Option<Agreement> {
            self.agreements.get(id)
        }

        /// The live (proposed or in force) agreements `institution` is a party to.
        #[ink(message, selector = 0xD0A0_0012)]
        pub fn live_of(&self, institution: InstitutionId) -> Vec<DuaId> {
            self.live.get(institution).unwrap_or_default()
        }

        /// The id the next proposal gets (= the number of agreements ever proposed).
        #[ink(message, selector = 0xD0A0_0013)]
        pub fn next_id(&self) -> DuaId {
            self.next_id
        }

        fn caller_institution(&self) -> Result<InstitutionInfo, Error> {
            match self.env().extension().institution_of(self.env().caller()) {
                None => Err(Error::CallerNotRegistered),
                Some(i) if !i.active => Err(Error::InstitutionSuspended { institution: i.id }),
                Some(i) => Ok(i),
            }
        }

        fn agreement(&self, id: DuaId) -> Result<Agreement, Error> {
            self.agreements
                .get(id)
                .ok_or(Error::UnknownAgreement { id })
        }

        /// Stores an agreement that has just ended and drops it from its parties' live index.
        fn retire(&mut self, id: DuaId, a: &Agreement) {
            for p in a.parties() {
                let mut ids = self.live.get(p).unwrap_or_default();
                ids.retain(|x| *x != id);
                if ids.is_empty() {
                    self.live.remove(p);
                } else {
                    self.live.insert(p, &ids);
                }
            }
            self.agreements.insert(id, a);
        }
    }

    /// The checks on terms that need no state.
    fn check_terms(t: &Terms, now: Moment) -> Result<(), Error> {
        if t.recipients.is_empty() {
            return Err(Error::NoRecipients);
        }
        if t.recipients.len() > MAX_RECIPIENTS {
            return Err(Error::TooManyRecipients {
                given: t.recipients.len() as u32,
                max: MAX_RECIPIENTS as u32,
            });
        }
        for (i, r) in t.recipients.iter().enumerate() {
            if t.recipients[..i].contains(r) {
                return Err(Error::DuplicateRecipient { institution: *r });
            }
        }
        if t.recipients.contains(&t.custodian) {
            return Err(Error::CustodianIsRecipient);
        }
        if t.purposes.is_empty() {
            return Err(Error::NoPurposes);
        }
        if !t.purposes.is_valid() {
            return Err(Error::UnknownPurposes {
                bits: t.purposes.0 & !PurposeSet::all().0,
            });
        }
        if t.categories.is_empty() {
            return Err(Error::NoCategories);
        }
        if !t.categories.is_valid() {
            return Err(Error::UnknownCategories {
                bits: t.categories.0 & !CategorySet::all().0,
            });
        }
        if t.valid_from >= t.valid_until {
            return Err(Error::EmptyPeriod);
        }
        if t.valid_until <= now {
            return Err(Error::PeriodOver {
                valid_until: t.valid_until,
                now,
            });
        }
        if t.record_cap == Some(0) {
            return Err(Error::ZeroRecordCap);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
