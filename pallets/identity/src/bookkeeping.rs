//! Storage bookkeeping the calls share: creating institutions and service keys, moving an
//! institution's status, and the reference counts that keep patients' and guardians' accounts
//! alive (a provider reference while the chain knows them, so they need no balance).

use crate::*;
use frame_support::{pallet_prelude::*, BoundedVec};

impl<T: Config> Pallet<T> {
    pub(crate) fn insert_institution(
        name: BoundedVec<u8, T::MaxNameLen>,
        roles: RoleSet,
    ) -> Result<InstitutionId, DispatchError> {
        ensure!(!roles.is_empty() && roles.is_valid(), Error::<T>::BadRoles);
        let id = NextInstitutionId::<T>::get();
        NextInstitutionId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
        Institutions::<T>::insert(
            id,
            Institution {
                name,
                roles,
                status: InstitutionStatus::Active,
                service_keys: BoundedVec::new(),
            },
        );
        Ok(id)
    }

    pub(crate) fn insert_service_key(
        institution: InstitutionId,
        key: T::AccountId,
    ) -> DispatchResult {
        ensure!(!ServiceKeys::<T>::contains_key(&key), Error::<T>::KeyInUse);
        ensure!(
            !SubjectOfAccount::<T>::contains_key(&key),
            Error::<T>::KeyInUse
        );
        ensure!(AccountRefs::<T>::get(&key) == 0, Error::<T>::KeyInUse);
        Institutions::<T>::try_mutate(institution, |i| {
            let i = i.as_mut().ok_or(Error::<T>::UnknownInstitution)?;
            i.service_keys
                .try_push(key.clone())
                .map_err(|_| Error::<T>::TooManyKeys)?;
            Ok::<_, DispatchError>(())
        })?;
        ServiceKeys::<T>::insert(&key, institution);
        frame_system::Pallet::<T>::inc_providers(&key);
        Ok(())
    }

    /// Moves an institution from status `from` to `to`, or fails with `wrong_status`.
    pub(crate) fn change_status(
        institution: InstitutionId,
        from: InstitutionStatus,
        to: InstitutionStatus,
        wrong_status: Error<T>,
    ) -> DispatchResult {
        Institutions::<T>::try_mutate(institution, |i| {
            let i = i.as_mut().ok_or(Error::<T>::UnknownInstitution)?;
            ensure!(i.status == from, wrong_status);
            i.status = to;
            Ok(())
        })
    }

    pub(crate) fn end_guardianship(guardian: &T::AccountId) {
        Guardianships::<T>::mutate_exists(guardian, |n| {
            let left = n.unwrap_or(0).saturating_sub(1);
            *n = if left == 0 { None } else { Some(left) };
        });
        Self::drop_account_ref(guardian);
    }

    pub(crate) fn add_account_ref(who: &T::AccountId) {
        AccountRefs::<T>::mutate(who, |n| {
            if *n == 0 {
                frame_system::Pallet::<T>::inc_providers(who);
            }
            *n = n.saturating_add(1);
        });
    }

    pub(crate) fn drop_account_ref(who: &T::AccountId) {
        AccountRefs::<T>::mutate_exists(who, |n| {
            let left = n.unwrap_or(0).saturating_sub(1);
            if n.is_some() && left == 0 {
                frame_system::Pallet::<T>::dec_providers(who).ok();
            }
            *n = if left == 0 { None } else { Some(left) };
        });
    }

    /// Erases the enrolments addressed to `account` that it never claimed: each link keeps its
    /// institution and gets the erased flag, loses the account, and releases the reference it
    /// held on the account.
    pub(crate) fn erase_pending(account: &T::AccountId) {
        for (pseudonym, ()) in PendingEnrolments::<T>::drain_prefix(account) {
            Pseudonyms::<T>::mutate(pseudonym, |link| {
                if let Some(link) = link {
                    link.patient = None;
                    link.erased = true;
                }
            });
            Self::drop_account_ref(account);
        }
    }

    /// Removes what links `account` to its (forgotten) `subject`: its `SubjectOfAccount` entry and
    /// the provider reference the subject gave it (so `frame_system` reaps the account unless
    /// something else, a pending enrolment or a guardianship of another subject, still needs it).
    pub(crate) fn unlink_account(account: &T::AccountId, subject: SubjectId) {
        if SubjectOfAccount::<T>::get(account) == Some(subject) {
            SubjectOfAccount::<T>::remove(account);
            frame_system::Pallet::<T>::dec_providers(account).ok();
        }
    }
}
