//! An off-chain stand-in for the runtime's side of [`ConsentryExt`](crate::ConsentryExt), for
//! `#[ink::test]`s: institutions, council members and consent decisions are set by the test, and
//! every call the contract makes is recorded with its raw input bytes.
//!
//! The off-chain engine hands an extension its input wrapped once more in a SCALE `Vec<u8>`
//! (`ink_engine::ext::Engine::call_chain_extension`), so [`MockChain`] unwraps it first; the bytes
//! inside are exactly what the runtime receives on chain.

use crate::{
    AccountId, CategorySet, Decision, DenyReason, InstitutionId, InstitutionInfo, Purpose, RoleSet,
    SubjectRef, EXTENSION_ID, FUNC_DECIDE, FUNC_INSTITUTION_OF, FUNC_IS_COUNCIL_MEMBER,
};
use ink::scale::{Decode, Encode};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The question of one `decide` call.
pub type DecideInput = (SubjectRef, AccountId, Purpose, CategorySet);

#[derive(Default)]
struct State {
    institutions: BTreeMap<AccountId, InstitutionInfo>,
    council: BTreeSet<AccountId>,
    decisions: Vec<(DecideInput, Decision)>,
    calls: Vec<(u16, Vec<u8>)>,
}

/// The mocked chain state behind the extension; clones share it.
#[derive(Clone, Default)]
pub struct MockChain(Rc<RefCell<State>>);

impl MockChain {
    /// A fresh state, registered as the off-chain engine's extension 1.
    pub fn install() -> Self {
        let chain = MockChain::default();
        ink::env::test::register_chain_extension(chain.clone());
        chain
    }

    /// Makes `who` a service key of institution `id` with `roles`, active or suspended.
    pub fn set_key(&self, who: AccountId, id: InstitutionId, roles: RoleSet, active: bool) {
        self.0
            .borrow_mut()
            .institutions
            .insert(who, InstitutionInfo { id, roles, active });
    }

    /// Suspends (or re-activates) every key of institution `id`.
    pub fn set_active(&self, id: InstitutionId, active: bool) {
        for info in self.0.borrow_mut().institutions.values_mut() {
            if info.id == id {
                info.active = active;
            }
        }
    }

    /// Makes `who` a council member.
    pub fn add_council_member(&self, who: AccountId) {
        self.0.borrow_mut().council.insert(who);
    }

    /// The decision `decide` returns for exactly this question (otherwise `Deny { NoConsent }`).
    pub fn set_decision(&self, question: DecideInput, decision: Decision) {
        self.0.borrow_mut().decisions.push((question, decision));
    }

    /// Every call so far: function id and the input bytes the runtime would have received.
    pub fn calls(&self) -> Vec<(u16, Vec<u8>)> {
        self.0.borrow().calls.clone()
    }

    fn answer(&self, func_id: u16, mut input: &[u8]) -> Vec<u8> {
        let state = self.0.borrow();
        match func_id {
            FUNC_INSTITUTION_OF => {
                let who = AccountId::decode(&mut input).expect("institution_of input");
                assert!(input.is_empty(), "institution_of: trailing input");
                state.institutions.get(&who).copied().encode()
            }
            FUNC_DECIDE => {
                let question = DecideInput::decode(&mut input).expect("decide input");
                assert!(input.is_empty(), "decide: trailing input");
                state
                    .decisions
                    .iter()
                    .find(|(q, _)| *q == question)
                    .map(|(_, d)| d.clone())
                    .unwrap_or(Decision::Deny {
                        subject: None,
                        reason: DenyReason::NoConsent,
                    })
                    .encode()
            }
            FUNC_IS_COUNCIL_MEMBER => {
                let who = AccountId::decode(&mut input).expect("is_council_member input");
                assert!(input.is_empty(), "is_council_member: trailing input");
                state.council.contains(&who).encode()
            }
            other => panic!("the runtime has no function {other} in extension 1"),
        }
    }
}

impl ink::env::test::ChainExtension for MockChain {
    fn ext_id(&self) -> u16 {
        EXTENSION_ID
    }

    fn call(&mut self, func_id: u16, input: &[u8], output: &mut Vec<u8>) -> u32 {
        let raw = Vec::<u8>::decode(&mut &input[..]).expect("the engine wraps input in a Vec");
        let answer = self.answer(func_id, &raw);
        self.0.borrow_mut().calls.push((func_id, raw));
        output.extend_from_slice(&answer);
        0
    }
}
