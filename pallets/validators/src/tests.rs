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

mod session_length {
    use super::*;
    use crate::{PendingLength, PendingSessionLength, SessionLength, SessionLengthSince};
    use frame_support::traits::EstimateNextSessionRotation;
    use pallet_session::ShouldEndSession;
    use sp_runtime::Permill;

    type V = crate::Pallet<Test>;

    fn next_rotation(now: u64) -> u64 {
        V::estimate_next_session_rotation(now).0.unwrap()
    }

    fn progress(now: u64) -> Permill {
        V::estimate_current_session_progress(now).0.unwrap()
    }

    /// The blocks in `range` at which a session would end, from the storage as it is now (no
    /// block runs, so nothing calls `start_session`).
    fn ends(range: core::ops::RangeInclusive<u64>) -> Vec<u64> {
        range.filter(|n| V::should_end_session(*n)).collect()
    }

    /// Runs the blocks after the current one up to `to` as `pallet-session` does: each block
    /// asks `should_end_session` once and, when it is true, rotates (`start_session`). At every
    /// block the rotation estimated at the block before must be the one that happens, and the
    /// next estimate must lie ahead. Returns the blocks that rotated.
    fn run_to(to: u64) -> Vec<u64> {
        let mut rotated = vec![];
        let mut now = System::block_number();
        let mut expected = next_rotation(now);
        while now < to {
            now += 1;
            System::set_block_number(now);
            let ends = V::should_end_session(now);
            assert_eq!(
                ends,
                now == expected,
                "block {now}: the rotation was estimated at {expected}"
            );
            if ends {
                rotated.push(now);
                // The session index is not used by this pallet.
                Validators::start_session(rotated.len() as u32);
            }
            expected = next_rotation(now);
            assert!(expected > now, "block {now}: next rotation {expected}");
        }
        rotated
    }

    fn set_at(block: u64, length: u64) {
        System::set_block_number(block);
        assert_ok!(Validators::set_session_length(
            RuntimeOrigin::root(),
            length
        ));
    }

    #[test]
    fn governance_sets_the_session_length_and_it_is_announced() {
        new_test_ext().execute_with(|| {
            set_at(7, 3);
            System::assert_last_event(
                Event::SessionLengthSet {
                    length: 3,
                    from: 10,
                }
                .into(),
            );
            assert_eq!(
                PendingSessionLength::<Test>::get(),
                Some(PendingLength {
                    from: 10,
                    length: 3
                })
            );
            // The session in progress (blocks 5 to 9) keeps its length.
            assert_eq!(SessionLength::<Test>::get(), 5);
            assert_eq!(V::average_session_length(), 5);
            assert_eq!(run_to(16), [10, 13, 16]);
            assert_eq!(V::average_session_length(), 3);
        });
    }

    #[test]
    fn only_governance_sets_the_session_length() {
        new_test_ext().execute_with(|| {
            System::set_block_number(7);
            assert_noop!(
                Validators::set_session_length(RuntimeOrigin::signed(1), 3),
                DispatchError::BadOrigin
            );
            assert_noop!(
                Validators::set_session_length(RuntimeOrigin::none(), 3),
                DispatchError::BadOrigin
            );
            assert_eq!(PendingSessionLength::<Test>::get(), None);
            assert_eq!(ends(8..=20), [10, 15, 20]);
        });
    }

    #[test]
    fn a_zero_session_length_is_refused() {
        new_test_ext().execute_with(|| {
            System::set_block_number(7);
            assert_noop!(
                Validators::set_session_length(RuntimeOrigin::root(), 0),
                Error::<Test>::ZeroSessionLength
            );
            assert_eq!(SessionLength::<Test>::get(), 5);
            assert_eq!(PendingSessionLength::<Test>::get(), None);
            assert_eq!(ends(8..=20), [10, 15, 20]);

            // Nor does it touch a pending change.
            set_at(8, 3);
            assert_noop!(
                Validators::set_session_length(RuntimeOrigin::root(), 0),
                Error::<Test>::ZeroSessionLength
            );
            assert_eq!(
                PendingSessionLength::<Test>::get(),
                Some(PendingLength {
                    from: 10,
                    length: 3
                })
            );
            assert_eq!(run_to(20), [10, 13, 16, 19]);
        });
    }

    #[test]
    fn a_new_length_applies_from_the_next_rotation() {
        new_test_ext().execute_with(|| {
            assert_eq!(run_to(7), [5]);
            set_at(7, 3);
            // Block 7's own decision stands; the session of blocks 5 to 9 runs out.
            assert!(!V::should_end_session(7));
            assert_eq!(next_rotation(7), 10);
            assert_eq!(next_rotation(9), 10);
            assert_eq!(progress(7), Permill::from_percent(60));
            assert_eq!(progress(9), Permill::from_percent(100));
            // Then sessions of three blocks, starting at the rotation block.
            assert_eq!(next_rotation(10), 13);
            assert_eq!(progress(10), Permill::from_rational(1u32, 3));
            assert_eq!(progress(12), Permill::from_percent(100));
            // The schedule does not wait for the session pallet to call back ...
            assert_eq!(ends(8..=20), [10, 13, 16, 19]);
            // ... and is the same when it does.
            assert_eq!(run_to(20), [10, 13, 16, 19]);
            assert_eq!(SessionLength::<Test>::get(), 3);
            assert_eq!(SessionLengthSince::<Test>::get(), 10);
            assert_eq!(PendingSessionLength::<Test>::get(), None);
        });
    }

    #[test]
    fn a_change_in_a_rotation_block_spares_the_session_that_just_started() {
        new_test_ext().execute_with(|| {
            assert_eq!(run_to(10), [5, 10]);
            set_at(10, 3);
            System::assert_last_event(
                Event::SessionLengthSet {
                    length: 3,
                    from: 15,
                }
                .into(),
            );
            // Block 10 rotated once and stays the only rotation until 15.
            assert!(V::should_end_session(10));
            assert_eq!(next_rotation(10), 15);
            assert_eq!(run_to(24), [15, 18, 21, 24]);
        });
    }

    #[test]
    fn a_longer_or_much_shorter_length_never_skips_a_rotation() {
        new_test_ext().execute_with(|| {
            set_at(2, 10);
            assert_eq!(run_to(13), [5]);
            // Eight blocks into a ten-block session, sessions become four blocks long: the
            // current one still ends at 15, then every four blocks.
            set_at(13, 4);
            System::assert_last_event(
                Event::SessionLengthSet {
                    length: 4,
                    from: 15,
                }
                .into(),
            );
            assert_eq!(run_to(30), [15, 19, 23, 27]);
            set_at(30, 9);
            assert_eq!(run_to(50), [31, 40, 49]);
        });
    }

    #[test]
    fn a_second_change_before_the_first_applies_replaces_it() {
        new_test_ext().execute_with(|| {
            set_at(7, 3);
            set_at(8, 4);
            System::assert_last_event(
                Event::SessionLengthSet {
                    length: 4,
                    from: 10,
                }
                .into(),
            );
            assert_eq!(run_to(18), [10, 14, 18]);
            // Setting the current length back before a change applies cancels it.
            set_at(19, 2);
            set_at(20, 4);
            assert_eq!(run_to(30), [22, 26, 30]);
        });
    }

    #[test]
    fn a_due_change_is_stored_by_the_next_call_without_a_rotation_callback() {
        new_test_ext().execute_with(|| {
            set_at(7, 3);
            // Block 12 without `start_session` at 10: the storage still has the old length, but
            // the schedule already follows the new one.
            System::set_block_number(12);
            assert_eq!(SessionLength::<Test>::get(), 5);
            assert_eq!(next_rotation(12), 13);
            assert_eq!(V::average_session_length(), 3);
            set_at(12, 6);
            System::assert_last_event(
                Event::SessionLengthSet {
                    length: 6,
                    from: 13,
                }
                .into(),
            );
            assert_eq!(SessionLength::<Test>::get(), 3);
            assert_eq!(SessionLengthSince::<Test>::get(), 10);
            assert_eq!(run_to(26), [13, 19, 25]);
            assert_eq!(SessionLength::<Test>::get(), 6);
            assert_eq!(SessionLengthSince::<Test>::get(), 13);
        });
    }
}
