use crate::{mock::*, Error, Event, Planned};
use frame_support::{assert_noop, assert_ok};
use pallet_session::SessionManager;
use sp_runtime::DispatchError;

fn set() -> Vec<u64> {
    crate::Validators::<Test>::get().into_inner()
}

fn providers(who: u64) -> u32 {
    frame_system::Pallet::<Test>::providers(&who)
}

#[test]
fn genesis_sorts_the_set_and_keeps_accounts_alive() {
    new_test_ext().execute_with(|| {
        assert_eq!(set(), vec![1, 2, 3]);
        assert_eq!(providers(1), 1);
        assert_eq!(providers(4), 0);
    });
}

#[test]
fn only_governance_changes_the_set() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Validators::add_validator(RuntimeOrigin::signed(1), 4),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Validators::remove_validator(RuntimeOrigin::signed(1), 3),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn add_inserts_sorted_and_gives_the_account_a_provider() {
    new_test_ext().execute_with(|| {
        assert_ok!(Validators::add_validator(RuntimeOrigin::root(), 0));
        assert_eq!(set(), vec![0, 1, 2, 3]);
        assert_eq!(providers(0), 1);
        System::assert_last_event(Event::ValidatorAdded { who: 0 }.into());
        assert!(Validators::is_validator(&0));
    });
}

#[test]
fn add_refuses_duplicates_and_a_full_set() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Validators::add_validator(RuntimeOrigin::root(), 2),
            Error::<Test>::AlreadyValidator
        );
        assert_ok!(Validators::add_validator(RuntimeOrigin::root(), 4));
        assert_noop!(
            Validators::add_validator(RuntimeOrigin::root(), 5),
            Error::<Test>::TooManyValidators
        );
        assert_eq!(providers(5), 0);
    });
}

#[test]
fn remove_drops_the_validator_but_not_below_the_minimum() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Validators::remove_validator(RuntimeOrigin::root(), 9),
            Error::<Test>::NotValidator
        );
        assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 2));
        assert_eq!(set(), vec![1, 3]);
        assert_eq!(providers(2), 0);
        System::assert_last_event(Event::ValidatorRemoved { who: 2 }.into());
        assert_noop!(
            Validators::remove_validator(RuntimeOrigin::root(), 1),
            Error::<Test>::TooFewValidators
        );
        assert_eq!(set(), vec![1, 3]);
    });
}

#[test]
fn a_removed_validator_holding_keys_stays_alive() {
    new_test_ext().execute_with(|| {
        // Registering session keys takes a consumer reference on the account.
        assert_ok!(frame_system::Pallet::<Test>::inc_consumers(&3));
        assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 3));
        assert!(!Validators::is_validator(&3));
        assert_eq!(providers(3), 1);
    });
}

#[test]
fn a_session_gets_a_new_set_only_when_it_changes() {
    new_test_ext().execute_with(|| {
        assert_eq!(Validators::new_session(0), Some(vec![1, 2, 3]));
        assert_eq!(Planned::<Test>::get().into_inner(), vec![1, 2, 3]);
        // Nothing changed: the session pallet keeps its set and GRANDPA sees no change.
        assert_eq!(Validators::new_session(1), None);

        assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 2));
        assert_eq!(Validators::new_session(2), Some(vec![1, 3]));
        System::assert_last_event(
            Event::ValidatorSetPlanned {
                session: 2,
                validators: vec![1, 3],
            }
            .into(),
        );
        assert_eq!(Validators::new_session(3), None);
    });
}

#[test]
fn a_validator_joins_once_it_has_session_keys() {
    new_test_ext().execute_with(|| {
        assert_eq!(Validators::new_session(0), Some(vec![1, 2, 3]));
        assert_ok!(Validators::add_validator(RuntimeOrigin::root(), 4));
        // No keys yet: left out, and the set handed over is unchanged.
        assert_eq!(Validators::new_session(1), None);
        WithKeys::set(vec![1, 2, 3, 4]);
        assert_eq!(Validators::new_session(2), Some(vec![1, 2, 3, 4]));
    });
}

#[test]
fn the_session_pallet_never_gets_an_empty_set() {
    new_test_ext().execute_with(|| {
        assert_eq!(Validators::new_session(0), Some(vec![1, 2, 3]));
        WithKeys::set(vec![]);
        assert_eq!(Validators::new_session(1), None);
        assert_eq!(Planned::<Test>::get().into_inner(), vec![1, 2, 3]);
    });
}

#[test]
fn sessions_end_every_session_length_blocks() {
    use frame_support::traits::EstimateNextSessionRotation;
    use pallet_session::ShouldEndSession;
    use sp_runtime::Permill;
    type V = crate::Pallet<Test>;
    new_test_ext().execute_with(|| {
        // The mock's default is five blocks.
        let ends: Vec<u64> = (1..=16).filter(|n| V::should_end_session(*n)).collect();
        assert_eq!(ends, [5, 10, 15]);
        assert_eq!(V::estimate_next_session_rotation(7).0, Some(10));
        assert_eq!(V::estimate_next_session_rotation(10).0, Some(15));
        assert_eq!(
            V::estimate_current_session_progress(10).0,
            Some(Permill::from_percent(20))
        );
        assert_eq!(
            V::estimate_current_session_progress(14).0,
            Some(Permill::from_percent(100))
        );
        assert_eq!(V::average_session_length(), 5);
    });
}

#[test]
fn the_genesis_sets_the_session_length() {
    use pallet_session::ShouldEndSession;
    use sp_runtime::BuildStorage;
    let t = crate::GenesisConfig::<Test> {
        validators: vec![1, 2],
        session_length: Some(3),
    }
    .build_storage()
    .unwrap();
    sp_io::TestExternalities::new(t).execute_with(|| {
        assert_eq!(crate::SessionLength::<Test>::get(), 3);
        let ends: Vec<u64> = (1..=7)
            .filter(|n| crate::Pallet::<Test>::should_end_session(*n))
            .collect();
        assert_eq!(ends, [3, 6]);
    });
}

#[test]
#[should_panic(expected = "session_length must be at least 1")]
fn a_zero_session_length_is_refused_at_genesis() {
    use sp_runtime::BuildStorage;
    let _ = crate::GenesisConfig::<Test> {
        validators: vec![1, 2],
        session_length: Some(0),
    }
    .build_storage();
}
