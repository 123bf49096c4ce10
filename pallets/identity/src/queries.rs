//! What other pallets and the runtime ask of identity: an accessor's status, whether a subject
//! is erased, what a pseudonym resolves to, who may act for a patient, and who may transact.

use crate::*;
use frame_support::pallet_prelude::*;

impl<T: Config> Pallet<T> {
    /// The institution of an active service key holding `role`.
    pub fn active_institution_with(
        who: &T::AccountId,
        role: Role,
    ) -> Result<InstitutionId, DispatchError> {
        match Self::accessor_status(who) {
            AccessorStatus::NotRegistered => Err(Error::<T>::NotRegistered.into()),
            AccessorStatus::Suspended { .. } => Err(Error::<T>::Suspended.into()),
            AccessorStatus::Active { institution, roles } => {
                ensure!(roles.contains(role), Error::<T>::NotCustodian);
                Ok(institution)
            }
        }
    }

    /// What the chain knows about an account as an accessor.
    pub fn accessor_status(who: &T::AccountId) -> AccessorStatus {
        match ServiceKeys::<T>::get(who) {
            Some(id) => Self::institution_status(id),
            None => AccessorStatus::NotRegistered,
        }
    }

    /// The standing of a key of institution `id`, for callers that already looked the key up.
    pub fn institution_status(id: InstitutionId) -> AccessorStatus {
        match Institutions::<T>::get(id) {
            None => AccessorStatus::NotRegistered,
            Some(i) if i.status == InstitutionStatus::Suspended => {
                AccessorStatus::Suspended { institution: id }
            }
            Some(i) => AccessorStatus::Active {
                institution: id,
                roles: i.roles,
            },
        }
    }

    /// Whether the subject has been forgotten (unknown subjects count as erased: nothing may be
    /// granted for them either).
    pub fn is_erased(subject: SubjectId) -> bool {
        Subjects::<T>::get(subject).is_none_or(|s| s.erased_at.is_some())
    }

    /// The subject a claimed, non-erased pseudonym resolves to. `Err(true)` = erased,
    /// `Err(false)` = unknown or unclaimed.
    pub fn resolve(pseudonym: &Pseudonym) -> Result<SubjectId, bool> {
        let link = Pseudonyms::<T>::get(pseudonym).ok_or(false)?;
        if link.erased {
            return Err(true);
        }
        link.subject.ok_or(false)
    }

    /// Whether `who` may act for `subject` now: the patient, or a guardian while appointed.
    /// Erased subjects refuse everyone.
    pub fn ensure_patient_or_guardian(who: &T::AccountId, subject: SubjectId) -> DispatchResult {
        let s = Subjects::<T>::get(subject).ok_or(Error::<T>::UnknownSubject)?;
        ensure!(s.erased_at.is_none(), Error::<T>::SubjectErased);
        ensure!(
            s.account.as_ref() == Some(who) || Guardians::<T>::contains_key(subject, who),
            Error::<T>::NotPatientOrGuardian
        );
        Ok(())
    }

    /// Whether the account may sign transactions in general: a service key, a patient or a
    /// guardian. (The addressee of a pending enrolment may only claim it; see
    /// [`Self::is_claimable_by`].) Used by the runtime's transaction filter.
    pub fn is_registered_account(who: &T::AccountId) -> bool {
        ServiceKeys::<T>::contains_key(who)
            || SubjectOfAccount::<T>::contains_key(who)
            || Guardianships::<T>::contains_key(who)
    }

    /// Whether `pseudonym` is an unclaimed enrolment addressed to `who`.
    pub fn is_claimable_by(pseudonym: &Pseudonym, who: &T::AccountId) -> bool {
        Pseudonyms::<T>::get(pseudonym)
            .is_some_and(|l| l.subject.is_none() && l.patient.as_ref() == Some(who))
    }
}
