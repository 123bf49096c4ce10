//! Runtime-level tests of what only the assembled runtime decides: who may transact.

use crate::{genesis::dev_institutions, permission::is_permitted, AccountId, Identity, Runtime, RuntimeCall, RuntimeOrigin};
use sp_keyring::Sr25519Keyring;
use sp_runtime::BuildStorage;

fn ext() -> sp_io::TestExternalities {
    let mut t = frame_system::GenesisConfig::<Runtime>::default().build_storage().unwrap();
    pallet_consentry_identity::GenesisConfig::<Runtime> { institutions: dev_institutions() }
        .assimilate_storage(&mut t)
        .unwrap();
    pallet_sudo::GenesisConfig::<Runtime> { key: Some(Sr25519Keyring::Alice.to_account_id()) }
        .assimilate_storage(&mut t)
        .unwrap();
    t.into()
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
        assert!(is_permitted(&Sr25519Keyring::Alice.to_account_id(), &remark()), "sudo key");
        assert!(is_permitted(&worker, &remark()), "an institution's service key");
        assert!(!is_permitted(&stranger, &remark()));
        assert!(!is_permitted(&stranger, &claim([1; 32])), "nothing to claim yet");

        Identity::enrol(RuntimeOrigin::signed(worker), [1; 32], stranger.clone()).unwrap();
        assert!(is_permitted(&stranger, &claim([1; 32])), "the addressee may claim");
        assert!(!is_permitted(&stranger, &claim([2; 32])), "but only its own enrolment");
        assert!(!is_permitted(&stranger, &remark()), "and nothing else");

        Identity::claim(RuntimeOrigin::signed(stranger.clone()), [1; 32]).unwrap();
        assert!(is_permitted(&stranger, &remark()), "a patient may transact");
    });
}
