//! Runtime-level tests of what only the assembled runtime decides: who may transact.

use crate::{
    genesis::dev_institutions, permission::is_permitted, AccountId, Identity, Runtime, RuntimeCall,
    RuntimeOrigin,
};
use sp_keyring::Sr25519Keyring;
use sp_runtime::BuildStorage;

/// This package's directory as `cargo test` sets it for the running test. The compile-time value
/// names the clone that built the binary, which a shared target directory reuses across clones.
pub(crate) fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// A runtime with the dev institutions, one validator (Ferdie), Alice as sudo and council member.
pub(crate) fn ext() -> sp_io::TestExternalities {
    let mut t = frame_system::GenesisConfig::<Runtime>::default()
        .build_storage()
        .unwrap();
    pallet_consentry_identity::GenesisConfig::<Runtime> {
        institutions: dev_institutions(),
    }
    .assimilate_storage(&mut t)
    .unwrap();
    pallet_consentry_validators::GenesisConfig::<Runtime> {
        validators: vec![Sr25519Keyring::Ferdie.to_account_id()],
        session_length: None,
    }
    .assimilate_storage(&mut t)
    .unwrap();
    pallet_sudo::GenesisConfig::<Runtime> {
        key: Some(Sr25519Keyring::Alice.to_account_id()),
    }
    .assimilate_storage(&mut t)
    .unwrap();
    pallet_membership::GenesisConfig::<Runtime, pallet_membership::Instance1> {
        members: vec![Sr25519Keyring::Alice.to_account_id()]
            .try_into()
            .unwrap(),
        ..Default::default()
    }
    .assimilate_storage(&mut t)
    .unwrap();
    t.into()
}

#[test]
fn council_members_exist_so_they_can_sign() {
    ext().execute_with(|| {
        let alice = Sr25519Keyring::Alice.to_account_id();
        let eve = Sr25519Keyring::Eve.to_account_id();
        assert_eq!(frame_system::Pallet::<Runtime>::providers(&alice), 1);
        assert_eq!(
            pallet_collective::Members::<Runtime, pallet_collective::Instance1>::get(),
            vec![alice.clone()]
        );
        assert_eq!(frame_system::Pallet::<Runtime>::providers(&eve), 0);
        crate::CouncilMembership::add_member(RuntimeOrigin::root(), eve.clone().into()).unwrap();
        assert_eq!(frame_system::Pallet::<Runtime>::providers(&eve), 1);
        assert!(
            is_permitted(&eve, &remark()),
            "a council member may transact"
        );
        crate::CouncilMembership::remove_member(RuntimeOrigin::root(), eve.clone().into()).unwrap();
        assert_eq!(frame_system::Pallet::<Runtime>::providers(&eve), 0);
        assert!(!is_permitted(&eve, &remark()));
    });
}

#[test]
fn no_signer_may_manage_nodes_only_the_council() {
    use crate::permission::CheckPermission;
    use frame_support::dispatch::GetDispatchInfo;
    use sp_runtime::{
        traits::DispatchTransaction,
        transaction_validity::{InvalidTransaction, TransactionValidityError},
    };
    ext().execute_with(|| {
        let node = sp_core::OpaquePeerId(vec![7; 38]);
        let calls = [
            RuntimeCall::NodeAuthorization(pallet_node_authorization::Call::claim_node {
                node: node.clone(),
            }),
            RuntimeCall::NodeAuthorization(pallet_node_authorization::Call::add_connections {
                node: node.clone(),
                connections: vec![sp_core::OpaquePeerId(vec![8; 38]); 1_000],
            }),
            RuntimeCall::NodeAuthorization(pallet_node_authorization::Call::add_well_known_node {
                node,
                owner: sp_runtime::MultiAddress::Id(Sr25519Keyring::Bob.to_account_id()),
            }),
        ];
        // An institution's service key, the sudo key and a council member alike.
        for who in [Sr25519Keyring::Bob, Sr25519Keyring::Alice] {
            for call in &calls {
                let info = call.get_dispatch_info();
                let refused = CheckPermission.test_run(
                    RuntimeOrigin::signed(who.to_account_id()),
                    call,
                    &info,
                    0,
                    0,
                    |_| Ok(().into()),
                );
                assert_eq!(
                    refused.err(),
                    Some(TransactionValidityError::Invalid(InvalidTransaction::Call)),
                    "{who:?} sent {call:?}"
                );
            }
        }
        // The council's way in (root stands in for its origin) still works.
        let node = sp_core::OpaquePeerId(vec![9; 38]);
        crate::NodeAuthorization::add_well_known_node(
            RuntimeOrigin::root(),
            node.clone(),
            sp_runtime::MultiAddress::Id(Sr25519Keyring::Bob.to_account_id()),
        )
        .expect("added by governance");
        assert!(pallet_node_authorization::WellKnownNodes::<Runtime>::get().contains(&node));
        assert!(is_permitted(
            &Sr25519Keyring::Bob.to_account_id(),
            &institution_call()
        ));
    });
}

fn remark() -> RuntimeCall {
    RuntimeCall::System(frame_system::Call::remark { remark: vec![] })
}

fn claim(p: [u8; 32]) -> RuntimeCall {
    RuntimeCall::Identity(pallet_consentry_identity::Call::claim { pseudonym: p })
}

#[test]
fn only_known_accounts_may_transact() {
    ext().execute_with(|| {
        let stranger: AccountId = Sr25519Keyring::Ferdie.to_account_id();
        let worker = Sr25519Keyring::Bob.to_account_id();
        assert!(
            is_permitted(&Sr25519Keyring::Alice.to_account_id(), &remark()),
            "sudo key"
        );
        assert!(
            is_permitted(&worker, &institution_call()),
            "an institution's service key"
        );
        assert!(
            !is_permitted(&worker, &remark()),
            "remarks are the council's"
        );
        assert!(!is_permitted(&stranger, &remark()));
        assert!(
            !is_permitted(&stranger, &claim([1; 32])),
            "nothing to claim yet"
        );

        Identity::enrol(RuntimeOrigin::signed(worker), [1; 32], stranger.clone()).unwrap();
        assert!(
            is_permitted(&stranger, &claim([1; 32])),
            "the addressee may claim"
        );
        assert!(
            !is_permitted(&stranger, &claim([2; 32])),
            "but only its own enrolment"
        );
        assert!(!is_permitted(&stranger, &remark()), "and nothing else");

        Identity::claim(RuntimeOrigin::signed(stranger.clone()), [1; 32]).unwrap();
        let subject = pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(&stranger)
            .expect("claimed");
        assert!(
            is_permitted(&stranger, &consent_call(subject)),
            "a patient may transact"
        );
    });
}

/// The pool's verdict on a stranger, through the runtime's whole extension pipeline in its real
/// order, comes from the permission check: `BadSigner` ("invalid signing address"), not
/// `CheckNonce`'s `Payment`, which a stranger (no account) would get if the nonce check ran first.
#[test]
fn strangers_are_refused_as_unknown_signers() {
    use sp_runtime::{
        generic::Era,
        traits::DispatchTransaction,
        transaction_validity::{InvalidTransaction, TransactionSource, TransactionValidityError},
    };
    ext().execute_with(|| {
        let checks: crate::TxExtension = (
            frame_system::CheckNonZeroSender::new(),
            crate::permission::CheckPermission,
            frame_system::CheckSpecVersion::new(),
            frame_system::CheckTxVersion::new(),
            frame_system::CheckGenesis::new(),
            frame_system::CheckEra::from(Era::Immortal),
            frame_system::CheckNonce::from(0),
            frame_system::CheckWeight::new(),
        );
        let call = institution_call();
        let info = frame_support::dispatch::GetDispatchInfo::get_dispatch_info(&call);
        let validate = |who: Sr25519Keyring| {
            checks.validate_only(
                RuntimeOrigin::signed(who.to_account_id()),
                &call,
                &info,
                100,
                TransactionSource::External,
                0,
            )
        };
        assert_eq!(
            validate(Sr25519Keyring::Ferdie).err(),
            Some(TransactionValidityError::Invalid(
                InvalidTransaction::BadSigner
            ))
        );
        // The hospital's worker key passes every check (its account exists from genesis).
        assert!(validate(Sr25519Keyring::Bob).is_ok());
    });
}

/// The client's generated code (`chain/client`) is built from `chain/client/metadata/consentry.scale`;
/// it must be exactly this runtime's metadata. `CONSENTRY_UPDATE_METADATA=1 cargo test --release
/// -p consentry-runtime metadata` rewrites it.
#[test]
fn client_metadata_is_current() {
    let built = Runtime::metadata_at_version(15).expect("the runtime serves metadata v15");
    let built: &[u8] = &built;
    assert_eq!(
        &built[..4],
        b"meta",
        "metadata starts with its magic number"
    );
    let path = manifest_dir().join("../client/metadata/consentry.scale");
    if std::env::var_os("CONSENTRY_UPDATE_METADATA").is_some() {
        std::fs::write(&path, built).expect("write metadata");
    }
    let committed = std::fs::read(&path).expect("chain/client/metadata/consentry.scale exists");
    assert!(
        committed == built,
        "client metadata is stale: rerun with CONSENTRY_UPDATE_METADATA=1 and commit it"
    );
}

#[test]
fn a_validator_account_may_only_manage_its_session_keys() {
    ext().execute_with(|| {
        let eve = Sr25519Keyring::Eve.to_account_id();
        let set_keys = RuntimeCall::Session(pallet_session::Call::purge_keys {});
        assert!(!is_permitted(&eve, &set_keys), "not a validator yet");
        crate::ValidatorSet::add_validator(RuntimeOrigin::root(), eve.clone()).unwrap();
        assert_eq!(frame_system::Pallet::<Runtime>::providers(&eve), 1);
        assert!(is_permitted(&eve, &set_keys));
        assert!(!is_permitted(&eve, &remark()), "only session calls");
        crate::ValidatorSet::remove_validator(RuntimeOrigin::root(), eve.clone()).unwrap();
        assert!(!is_permitted(&eve, &set_keys));
    });
}

#[test]
fn the_presets_hand_their_validators_to_aura_and_grandpa_through_the_session_pallet() {
    use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
    for (preset, names, session_length) in [
        (DEV_RUNTIME_PRESET, &["Alice"][..], crate::SESSION_LENGTH),
        (
            LOCAL_TESTNET_RUNTIME_PRESET,
            &["Alice", "Bob", "Charlie", "Dave"][..],
            crate::TEST_SESSION_LENGTH,
        ),
    ] {
        let mut ext = sp_io::TestExternalities::new_empty();
        ext.execute_with(|| {
            build_preset(preset);
            // The session pallet orders validators as the validator set does: by account.
            let mut expected: Vec<_> = names
                .iter()
                .map(|n| {
                    let sr = n.parse::<Sr25519Keyring>().unwrap();
                    let ed = n.parse::<sp_keyring::Ed25519Keyring>().unwrap();
                    let aura: sp_consensus_aura::sr25519::AuthorityId = sr.public().into();
                    let grandpa: pallet_grandpa::AuthorityId = ed.public().into();
                    (sr.to_account_id(), aura, (grandpa, 1u64))
                })
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let accounts: Vec<AccountId> = expected.iter().map(|e| e.0.clone()).collect();
            assert_eq!(pallet_session::Validators::<Runtime>::get(), accounts);
            assert_eq!(
                pallet_consentry_validators::Validators::<Runtime>::get().into_inner(),
                accounts
            );
            let aura: Vec<_> = expected.iter().map(|e| e.1.clone()).collect();
            assert_eq!(
                pallet_aura::Authorities::<Runtime>::get().into_inner(),
                aura
            );
            let grandpa: Vec<_> = expected.iter().map(|e| e.2.clone()).collect();
            assert_eq!(
                pallet_grandpa::Pallet::<Runtime>::grandpa_authorities(),
                grandpa
            );
            // Sessions end at multiples of the preset's session length.
            assert_eq!(
                pallet_consentry_validators::SessionLength::<Runtime>::get(),
                session_length
            );
            use pallet_session::ShouldEndSession;
            type Sessions = <Runtime as pallet_session::Config>::ShouldEndSession;
            assert!(Sessions::should_end_session(session_length));
            assert!(!Sessions::should_end_session(session_length - 1));
        });
    }
}

/// Builds the runtime's genesis preset `id` (`development`, `local_testnet`) into the current
/// externalities for real: a preset is a patch over the default genesis config, as the node
/// applies it.
pub(crate) fn build_preset(id: &str) {
    crate::genesis::build_preset_state(id).expect("the genesis builds");
}

#[test]
fn the_permission_check_is_charged_at_least_the_reads_it_makes() {
    use frame_support::weights::Weight;
    use sp_runtime::traits::TransactionExtension;
    // The longest admission reads six values: service key, subject, guardianship, council, sudo
    // key, then the validator set or the enrolment. Weights generated from a benchmark that took
    // a shorter path would fall below this.
    let reads: Weight = <Runtime as frame_system::Config>::DbWeight::get().reads(6);
    for call in [remark(), claim([1; 32])] {
        let charged = crate::permission::CheckPermission.weight(&call);
        assert!(
            charged.ref_time() > reads.ref_time(),
            "{charged:?} does not cover {reads:?}"
        );
    }
}

/// The four Consentry pallets' storage versions, on chain and in code.
fn storage_versions() -> [(u16, u16); 4] {
    use frame_support::traits::{GetStorageVersion, StorageVersion};
    fn of<P: GetStorageVersion<InCodeStorageVersion = StorageVersion>>() -> (u16, u16) {
        let number = |v: StorageVersion| (0..=u16::MAX).find(|n| v == *n).unwrap();
        (
            number(P::on_chain_storage_version()),
            number(P::in_code_storage_version()),
        )
    }
    [
        of::<crate::Identity>(),
        of::<crate::Consent>(),
        of::<crate::Audit>(),
        of::<crate::ValidatorSet>(),
    ]
}

/// A chain that ran the previous runtime (no declared storage versions: all at 0) with a
/// forgotten patient whose account version 0 left linked and a pending enrolment: the runtime's
/// migrations bring every Consentry pallet to its current version, unlink the account and index
/// the pending enrolment, once.
#[test]
fn the_runtime_migrates_every_consentry_pallet_from_version_0() {
    use frame_support::traits::OnRuntimeUpgrade;
    use pallet_consentry_identity::migrations::v1::v0;
    ext().execute_with(|| {
        assert_eq!(storage_versions(), [(0, 2), (0, 1), (0, 1), (0, 1)]);
        let patient = Sr25519Keyring::Two.to_account_id();
        let newcomer = Sr25519Keyring::One.to_account_id();
        v0::Pseudonyms::<Runtime>::insert(
            [6; 32],
            v0::PseudonymLink {
                institution: 0,
                patient: newcomer.clone(),
                subject: None,
                erased: false,
                enrolled_at: 1,
            },
        );
        v0::Pseudonyms::<Runtime>::insert(
            [5; 32],
            v0::PseudonymLink {
                institution: 0,
                patient: patient.clone(),
                subject: Some(0),
                erased: true,
                enrolled_at: 1,
            },
        );
        v0::Subjects::<Runtime>::insert(
            0,
            v0::Subject {
                account: patient.clone(),
                pseudonyms: vec![[5; 32]].try_into().unwrap(),
                erased_at: Some(2),
                created_at: 1,
            },
        );
        pallet_consentry_identity::SubjectOfAccount::<Runtime>::insert(&patient, 0);
        frame_system::Pallet::<Runtime>::inc_providers(&patient);

        let weight = crate::Migrations::on_runtime_upgrade();
        assert!(weight.ref_time() > 0);
        assert_eq!(storage_versions(), [(2, 2), (1, 1), (1, 1), (1, 1)]);
        assert!(
            pallet_consentry_identity::PendingEnrolments::<Runtime>::contains_key(
                &newcomer, [6; 32]
            )
        );
        let link = pallet_consentry_identity::Pseudonyms::<Runtime>::get([5; 32]).unwrap();
        assert_eq!((link.patient, link.erased), (None, true));
        assert_eq!(
            pallet_consentry_identity::Subjects::<Runtime>::get(0)
                .unwrap()
                .account,
            None
        );
        assert!(!Identity::is_registered_account(&patient));
        assert_eq!(frame_system::Pallet::<Runtime>::providers(&patient), 0);
        // A second upgrade finds every pallet current and changes nothing: one read (a storage
        // version) per migration.
        let again = crate::Migrations::on_runtime_upgrade();
        assert_eq!(
            again,
            <Runtime as frame_system::Config>::DbWeight::get().reads(6)
        );
    });
}

/// A chain started at this runtime is stamped with every pallet's current storage version at
/// genesis, so the migrations find nothing to do.
#[test]
fn a_new_chain_starts_at_the_current_storage_versions() {
    use frame_support::traits::OnRuntimeUpgrade;
    let mut ext = sp_io::TestExternalities::new_empty();
    ext.execute_with(|| {
        build_preset(sp_genesis_builder::DEV_RUNTIME_PRESET);
        assert_eq!(storage_versions(), [(2, 2), (1, 1), (1, 1), (1, 1)]);
        assert_eq!(
            crate::Migrations::on_runtime_upgrade(),
            <Runtime as frame_system::Config>::DbWeight::get().reads(6)
        );
    });
}

/// A call of an institution's service key: enrolling a patient.
pub(crate) fn institution_call() -> RuntimeCall {
    RuntimeCall::Identity(pallet_consentry_identity::Call::enrol {
        pseudonym: [0xee; 32],
        patient: Sr25519Keyring::Eve.to_account_id(),
    })
}

/// A call of a patient (or its guardian) for `subject`: a consent grant to the hospital.
pub(crate) fn consent_call(subject: consentry_primitives::SubjectId) -> RuntimeCall {
    use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet};
    RuntimeCall::Consent(pallet_consentry_consent::Call::grant {
        subject,
        grantee: Grantee::Institution(0),
        purposes: PurposeSet::of(&[Purpose::Research]),
        categories: CategorySet::of(&[DataCategory::Labs]),
        valid_from: None,
        valid_until: None,
        max_uses: None,
    })
}
